// Strided k / v layouts the GPU attention kernels cannot read (run by
// kv-layout.mlir).

func.func @head_dim_strided(%q: memref<1x8x64xf32>, %k: memref<1x2x128x64xf32, strided<[16384, 64, 128, 2]>>, %out: memref<1x8x64xf32>) {
  // expected-error @+1 {{the GPU attention kernels cannot read this k / v layout (the head dim must have stride 1)}}
  multipole.decode_attention %q, %k, %k outs(%out) : memref<1x8x64xf32>, memref<1x2x128x64xf32, strided<[16384, 64, 128, 2]>>, memref<1x2x128x64xf32, strided<[16384, 64, 128, 2]>> outs memref<1x8x64xf32>
  return
}

// -----

func.func @layouts_differ(%q: memref<1x8x64xf32>, %k: memref<1x2x128x64xf32, strided<[16384, 64, 128, 1]>>, %v: memref<1x2x128x64xf32>, %out: memref<1x8x64xf32>) {
  // expected-error @+1 {{the GPU attention kernels cannot read this k / v layout (k and v differ)}}
  multipole.decode_attention %q, %k, %v outs(%out) : memref<1x8x64xf32>, memref<1x2x128x64xf32, strided<[16384, 64, 128, 1]>>, memref<1x2x128x64xf32> outs memref<1x8x64xf32>
  return
}

// -----

// Rows 2 elements apart overlap.
func.func @overlapping(%q: memref<1x8x64xf32>, %k: memref<1x2x128x64xf32, strided<[16384, 8192, 4, 1]>>, %out: memref<1x8x64xf32>) {
  // expected-error @+1 {{the GPU attention kernels cannot read this k / v layout (two elements would share an address)}}
  multipole.decode_attention %q, %k, %k outs(%out) : memref<1x8x64xf32>, memref<1x2x128x64xf32, strided<[16384, 8192, 4, 1]>>, memref<1x2x128x64xf32, strided<[16384, 8192, 4, 1]>> outs memref<1x8x64xf32>
  return
}

// -----

// bf16 rows 8 bytes apart: not 16-byte aligned.
func.func @unaligned(%q: memref<1x8x64xbf16>, %k: memref<1x2x128x64xbf16, strided<[65536, 32768, 68, 1]>>, %out: memref<1x8x64xbf16>) {
  // expected-error @+1 {{the GPU attention kernels cannot read this k / v layout (every row must start at a multiple of 16 bytes)}}
  multipole.decode_attention %q, %k, %k outs(%out) : memref<1x8x64xbf16>, memref<1x2x128x64xbf16, strided<[65536, 32768, 68, 1]>>, memref<1x2x128x64xbf16, strided<[65536, 32768, 68, 1]>> outs memref<1x8x64xbf16>
  return
}

// -----

// The query is not a cache: it must be row-major.
func.func @strided_q(%q: memref<1x8x64xf32, strided<[1024, 128, 1]>>, %k: memref<1x2x128x64xf32>, %out: memref<1x8x64xf32>) {
  // expected-error @+1 {{convert-multipole-to-gpu needs memrefs with the identity layout (contiguous, row-major); operand #0 has type 'memref<1x8x64xf32, strided<[1024, 128, 1]>>'}}
  multipole.decode_attention %q, %k, %k outs(%out) : memref<1x8x64xf32, strided<[1024, 128, 1]>>, memref<1x2x128x64xf32>, memref<1x2x128x64xf32> outs memref<1x8x64xf32>
  return
}
