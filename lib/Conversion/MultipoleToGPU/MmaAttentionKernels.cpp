//===- MmaAttentionKernels.cpp - tensor-core split-KV attention (GPU) -----===//
//
// The bf16 exact-attention kernel on tensor cores (dense decode and the exact
// part of the multipole step). A CTA of 4 warps owns one split of one
// (sequence, KV head) and all its G query heads:
//  - K/V tiles of 64 tokens stream into shared memory with cp.async (16-byte
//    copies, 3 stages in flight, rows swizzled by XOR of the 16-byte chunk
//    index with row % 8 so that ldmatrix reads are bank-conflict free); rows
//    past the split's end are zero-filled;
//  - each warp takes 16 tokens of a tile: S = Q K^T with mma.sync m16n8k16
//    (the G heads are rows of the 16-row A operand, loaded once), an online
//    softmax on the S fragments (4 lanes per head row), then O += P V with
//    P packed to bf16 (the usual FlashAttention rounding) and V fragments from
//    ldmatrix.trans;
//  - the 4 warps' (m, l, O) are merged through shared memory into the same
//    per-split partials as the CUDA-core kernel, so the combine kernels are
//    shared.
// Instruction count per byte drops ~10x against the CUDA-core kernel, which
// was issue-bound (bench/NOTES.md, runs 2-9).
//
//===----------------------------------------------------------------------===//

#include "KernelGen.h"

#include <sstream>

using namespace mlir::multipole::gpugen;

namespace {
std::string str(int64_t v) { return std::to_string(v); }

constexpr int64_t kTile = 64, kStages = 3, kWarps = 4;

const char *kMmaAttrs =
    "{layoutA = #nvvm.mma_layout<row>, layoutB = #nvvm.mma_layout<col>, "
    "multiplicandAPtxType = #nvvm.mma_type<bf16>, multiplicandBPtxType = "
    "#nvvm.mma_type<bf16>, shape = #nvvm.shape<m = 16, n = 8, k = 16>} : "
    "(i32, i32, f32) -> !llvm.struct<(f32, f32, f32, f32)>\n";

/// `%<dst>_0..3` (f32) = mma(A = a0, 0, a2, 0; B = b0, b1; C = c0, c1, 0, 0).
/// Rows 8-15 of A (heads >= 8) are zero, so only c0 and c1 are live.
std::string mma(const std::string &dst, const std::string &a0,
                const std::string &a2, const std::string &b0,
                const std::string &b1, const std::string &c0,
                const std::string &c1) {
  std::string r = "    %" + dst + " = nvvm.mma.sync A[" + a0 + ", %zi, " + a2 +
                  ", %zi] B[" + b0 + ", " + b1 + "] C[" + c0 + ", " + c1 +
                  ", %zf, %zf] " + kMmaAttrs;
  for (int i = 0; i < 2; ++i)
    r += "    %" + dst + "_" + str(i) + " = llvm.extractvalue %" + dst + "[" +
         str(i) + "] : !llvm.struct<(f32, f32, f32, f32)>\n";
  return r;
}

/// `%<dst>_0..3` (i32): ldmatrix x4 of the stage buffer at (row, col).
std::string ldm(const std::string &dst, bool trans, const std::string &kv,
                const std::string &row, const std::string &col) {
  std::string r = "    %" + dst + " = nvgpu.ldmatrix %kvs[%st, " + kv + ", " +
                  row + ", " + col + "] {numTiles = 4 : i32, transpose = " +
                  (trans ? "true" : "false") + "} : $SMT -> vector<4x2xbf16>\n";
  for (int i = 0; i < 4; ++i) {
    std::string n = dst + "_" + str(i);
    r += "    %" + n + "v = vector.extract %" + dst + "[" + str(i) +
         "] : vector<2xbf16> from vector<4x2xbf16>\n" + "    %" + n +
         "w = vector.bitcast %" + n + "v : vector<2xbf16> to vector<1xi32>\n" +
         "    %" + n + " = vector.extract %" + n + "w[0] : i32 from vector<1xi32>\n";
  }
  return r;
}
} // namespace

bool mlir::multipole::gpugen::mmaAttentionSupported(const AttnShape &s) {
  return s.elt == "bf16" && (s.D == 64 || s.D == 128) && s.H > 0 &&
         s.Hq % s.H == 0 && s.G() >= 1 && s.G() <= 8;
}

int64_t mlir::multipole::gpugen::mmaAttentionSmemBytes(const AttnShape &s) {
  return kStages * 2 * kTile * s.D * 2 + 2 * kWarps * s.G() * 4 + 16 +
         kWarps * s.G() * s.D * 4;
}

std::string mlir::multipole::gpugen::mmaAttentionSplitKernel(
    llvm::StringRef name, const AttnShape &s, int64_t splits, bool sparse,
    bool hasLens) {
  int64_t G = s.G(), D = s.D, D8 = D / 8, threads = kWarps * 32;
  int64_t rowsPerCopy = threads / D8;           // rows covered by one sweep
  int64_t copies = kTile * D8 / threads;        // 16-byte copies per thread per K tile
  std::map<std::string, std::string> vars = {
      {"NAME", name.str()}, {"B", str(s.B)},   {"HQ", str(s.Hq)},
      {"H", str(s.H)},      {"N", str(s.N)},   {"D", str(D)},
      {"E", s.elt},         {"G", str(G)},     {"S", str(splits)},
      {"TT", str(kTile)},   {"NS", str(kStages)}, {"D8", str(D8)},
      {"GD", str(G * D)},   {"T", str(threads)}, {"W", str(kWarps)},
      {"NSm1", str(kStages - 1)}, {"NGG", str(kWarps * G)},
      {"NGGD", str(kWarps * G * D)}};
  int64_t stageBytes = kStages * 2 * kTile * D * 2;
  vars["OWM"] = str(stageBytes);
  vars["OWL"] = str(stageBytes + kWarps * G * 4);
  vars["OWO"] = str(stageBytes + 2 * kWarps * G * 4 + 16);
  vars["SMT"] = "memref<$NSx2x$TTx$Dx$E, #gpu.address_space<workgroup>>";
  std::ostringstream o;
  o << "gpu.func @$NAME(%q: memref<$Bx$HQx$Dx$E>, %k: memref<$Bx$Hx$Nx$Dx$E>, "
       "%v: memref<$Bx$Hx$Nx$Dx$E>, ";
  if (hasLens && !sparse)
    o << "%lens: memref<$Bxi32>, ";
  if (sparse)
    o << "%tok: memref<$Bx$Hx$Nxi32>, %ntok: memref<$Bx$Hxi32>, ";
  o << R"(%pacc: memref<$Bx$HQx$Sx$Dxf32>, %pm: memref<$Bx$HQx$Sxf32>,
    %pl: memref<$Bx$HQx$Sxf32>, %scale: f32)
    kernel attributes {known_block_size = array<i32: $T, 1, 1>} {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c4 = arith.constant 4 : index
  %c8 = arith.constant 8 : index
  %c16 = arith.constant 16 : index
  %c32 = arith.constant 32 : index
  %cD8 = arith.constant $D8 : index
  %cTT = arith.constant $TT : index
  %cNS = arith.constant $NS : index
  %cNSm1 = arith.constant $NSm1 : index
  %cN = arith.constant $N : index
  %cG = arith.constant $G : index
  %cD = arith.constant $D : index
  %cT = arith.constant $T : index
  %cW = arith.constant $W : index
  %cS = arith.constant $S : index
  %cGD = arith.constant $GD : index
  %c8i = arith.constant 8 : index
  %c0e = arith.constant 0 : index
  %zi = arith.constant 0 : i32
  %zf = arith.constant 0.0 : f32
  %one = arith.constant 1.0 : f32
  %ninf = arith.constant 0xFF800000 : f32
  %c1i = arith.constant 1 : i32
  %c2i = arith.constant 2 : i32
  %c32i = arith.constant 32 : i32
  %split = gpu.block_id x
  %h = gpu.block_id y
  %b = gpu.block_id z
  %tid = gpu.thread_id x
  %lane = arith.remui %tid, %c32 : index
  %warp = arith.divui %tid, %c32 : index
  %g = arith.divui %lane, %c4 : index
  %t = arith.remui %lane, %c4 : index
  %t2 = arith.muli %t, %c2 : index
  %l8 = arith.remui %lane, %c8 : index
  %lm = arith.divui %lane, %c8 : index
  %lm2 = arith.remui %lm, %c2 : index
  %lmd = arith.divui %lm, %c2 : index
  %dsm = gpu.dynamic_shared_memory : memref<?xi8, #gpu.address_space<workgroup>>
  %kvs = memref.view %dsm[%c0][] : memref<?xi8, #gpu.address_space<workgroup>> to $SMT
  // The warps' partials live after the stages (one dynamic buffer: no
  // static shared memory in this kernel).
  %owm = arith.constant $OWM : index
  %owl = arith.constant $OWL : index
  %owo = arith.constant $OWO : index
  %sm = memref.view %dsm[%owm][] : memref<?xi8, #gpu.address_space<workgroup>> to memref<$NGGxf32, #gpu.address_space<workgroup>>
  %sl = memref.view %dsm[%owl][] : memref<?xi8, #gpu.address_space<workgroup>> to memref<$NGGxf32, #gpu.address_space<workgroup>>
  %sacc = memref.view %dsm[%owo][] : memref<?xi8, #gpu.address_space<workgroup>> to memref<$NGGDxf32, #gpu.address_space<workgroup>>
  %cNG = arith.constant $W : index
)";
  o << splitRangeText(sparse ? SplitMode::Sparse : SplitMode::Dense, hasLens);
  o << R"(  %ntiles = arith.ceildivui %len, %cTT : index
  // Q as the A operand: head g of the group in row g (g < G), zero rows else.
  %gval = arith.cmpi ult, %g, %cG : index
  %gq = arith.select %gval, %g, %c0 : index
  %hG = arith.muli %h, %cG : index
  %qrow = arith.addi %hG, %gq : index
)";
  // Q fragments: a0 = (row g, dims kb*16 + 2t, +1), a2 = (row g, +8).
  for (int64_t kb = 0; kb < D / 16; ++kb)
    for (int half = 0; half < 2; ++half) {
      std::string n = str(kb) + "_" + str(half);
      o << "  %qo" << n << " = arith.constant " << kb * 16 + half * 8 << " : index\n"
        << "  %qd" << n << " = arith.addi %qo" << n << ", %t2 : index\n"
        << "  %qv" << n << " = vector.load %q[%b, %qrow, %qd" << n
        << "] : memref<$Bx$HQx$Dx$E>, vector<2x$E>\n"
        << "  %qw" << n << " = vector.bitcast %qv" << n << " : vector<2x$E> to vector<1xi32>\n"
        << "  %qx" << n << " = vector.extract %qw" << n << "[0] : i32 from vector<1xi32>\n"
        << "  %qa" << n << " = arith.select %gval, %qx" << n << ", %zi : i32\n";
    }
  // cp.async assignment: copy i of this thread covers row i * RPC + tid / D8,
  // chunk tid % D8 (RPC is a multiple of 8, so the swizzle is per thread).
  o << "  %crow = arith.divui %tid, %cD8 : index\n"
       "  %cchk = arith.remui %tid, %cD8 : index\n"
       "  %crow8 = arith.remui %crow, %c8 : index\n"
       "  %cphys = arith.xori %cchk, %crow8 : index\n"
       "  %gcol = arith.muli %cchk, %c8 : index\n"
       "  %scol = arith.muli %cphys, %c8 : index\n";
  // Sparse mode: the token ids of a tile are loaded one iteration before its
  // copies are issued (`%<pfx>_<i>`, i32), so cp.async never waits on them.
  auto loadIds = [&](const std::string &tile, const std::string &pfx) {
    std::ostringstream r;
    r << "    %" << pfx << "tb = arith.muli " << tile << ", %cTT : index\n"
      << "    %" << pfx << "tlo = arith.addi %lo, %" << pfx << "tb : index\n";
    for (int64_t i = 0; i < copies; ++i) {
      std::string n = pfx + "x" + str(i);
      r << "    %" << n << "o = arith.constant " << i * rowsPerCopy << " : index\n"
        << "    %" << n << "r = arith.addi %" << n << "o, %crow : index\n"
        << "    %" << n << "p = arith.addi %" << pfx << "tlo, %" << n << "r : index\n"
        << "    %" << n << "v = arith.cmpi ult, %" << n << "p, %hi : index\n"
        << "    %" << n << "c = arith.select %" << n << "v, %" << n << "p, %lo : index\n"
        << "    %" << n << "m = arith.minui %" << n << "c, %cNm1 : index\n"
        << "    %" << pfx << "_" << i << " = memref.load %tok[%b, %h, %" << n
        << "m] : memref<$Bx$Hx$Nxi32>\n";
    }
    return r.str();
  };
  auto issue = [&](const std::string &tile, const std::string &stage,
                   const std::string &sfx, const std::string &ids = "") {
    std::ostringstream r;
    r << "    %tb" << sfx << " = arith.muli " << tile << ", %cTT : index\n"
      << "    %tlo" << sfx << " = arith.addi %lo, %tb" << sfx << " : index\n";
    for (int64_t i = 0; i < copies; ++i) {
      std::string n = sfx + "_" + str(i);
      r << "    %ro" << n << " = arith.constant " << i * rowsPerCopy << " : index\n"
        << "    %rr" << n << " = arith.addi %ro" << n << ", %crow : index\n"
        << "    %rp" << n << " = arith.addi %tlo" << sfx << ", %rr" << n << " : index\n"
        << "    %rv" << n << " = arith.cmpi ult, %rp" << n << ", %hi : index\n"
        << "    %rc" << n << " = arith.select %rv" << n << ", %rp" << n << ", %lo : index\n"
        << "    %rn" << n << " = arith.select %rv" << n << ", %c8i, %c0e : index\n";
      if (sparse && !ids.empty())
        r << "    %rj" << n << " = arith.index_cast %" << ids << "_" << i
          << " : i32 to index\n";
      else if (sparse)
        r << "    %rji" << n << " = memref.load %tok[%b, %h, %rc" << n
          << "] : memref<$Bx$Hx$Nxi32>\n"
          << "    %rj" << n << " = arith.index_cast %rji" << n << " : i32 to index\n";
      else
        r << "    %rj" << n << " = arith.addi %rc" << n << ", %c0 : index\n";
      for (int kv = 0; kv < 2; ++kv)
        r << "    %cp" << kv << n << " = nvgpu.device_async_copy "
          << (kv ? "%v" : "%k") << "[%b, %h, %rj" << n << ", %gcol], %kvs["
          << stage << ", %c" << kv << ", %rr" << n << ", %scol], 8, %rn" << n
          << " {bypassL1} : memref<$Bx$Hx$Nx$Dx$E> to $SMT\n";
    }
    return r.str();
  };
  // Prologue: the first NS - 1 tiles, one commit group each.
  for (int64_t sidx = 0; sidx < kStages - 1; ++sidx) {
    std::string ss = str(sidx);
    o << "  %pt" << ss << " = arith.constant " << ss << " : index\n"
      << "  %pin" << ss << " = arith.cmpi ult, %pt" << ss << ", %ntiles : index\n"
      << "  scf.if %pin" << ss << " {\n"
      << issue("%pt" + ss, "%pt" + ss, "p" + ss) << "  }\n"
      << "  %pg" << ss << " = nvgpu.device_async_create_group {}\n";
  }
  // Main loop.
  int64_t NB = D / 8; // n-blocks of O
  int64_t nIds = sparse ? copies : 0;
  if (sparse)
    o << "  %cNm1 = arith.constant " << s.N - 1 << " : index\n"
      << loadIds("%cNSm1", "pfi");
  o << "  %res:" << 2 + 2 * NB + nIds
    << " = scf.for %it = %c0 to %ntiles step %c1 iter_args(%m = %ninf, %l = %zf";
  for (int64_t n = 0; n < NB; ++n)
    o << ", %o" << n << "a = %zf, %o" << n << "b = %zf";
  for (int64_t i = 0; i < nIds; ++i)
    o << ", %tj_" << i << " = %pfi_" << i;
  o << ") -> (f32, f32";
  for (int64_t n = 0; n < NB; ++n)
    o << ", f32, f32";
  for (int64_t i = 0; i < nIds; ++i)
    o << ", i32";
  o << ") {\n"
       "    gpu.barrier\n"
       "    %nx = arith.addi %it, %cNSm1 : index\n"
       "    %nxs = arith.remui %nx, %cNS : index\n"
       "    %nxin = arith.cmpi ult, %nx, %ntiles : index\n"
       "    scf.if %nxin {\n"
    << issue("%nx", "%nxs", "m", sparse ? "tj" : "") << "    }\n";
  if (sparse)
    o << "    %nx1 = arith.addi %nx, %c1 : index\n" << loadIds("%nx1", "pfn");
  o << ""
    << "    %grp = nvgpu.device_async_create_group {}\n"
       "    nvgpu.device_async_wait %grp {numGroups = $NSm1 : i32}\n"
       "    gpu.barrier\n"
       "    %st = arith.remui %it, %cNS : index\n"
       "    %w16 = arith.muli %warp, %c16 : index\n"
       "    %tbase0 = arith.muli %it, %cTT : index\n"
       "    %tbase1 = arith.addi %lo, %tbase0 : index\n"
       "    %tbase = arith.addi %tbase1, %w16 : index\n";
  // S = Q K^T for the warp's two n-blocks of 8 tokens.
  for (int nb = 0; nb < 2; ++nb) {
    std::string ns = str(nb);
    o << "    %kro" << ns << " = arith.constant " << nb * 8 << " : index\n"
      << "    %kr" << ns << "a = arith.addi %w16, %kro" << ns << " : index\n"
      << "    %kr" << ns << " = arith.addi %kr" << ns << "a, %l8 : index\n";
    std::string c0 = "%zf", c1 = "%zf";
    for (int64_t kp = 0; kp < D / 32; ++kp) {
      std::string n = ns + "_" + str(kp);
      o << "    %kc" << n << "a = arith.constant " << 4 * kp << " : index\n"
        << "    %kc" << n << "b = arith.addi %kc" << n << "a, %lm : index\n"
        << "    %kc" << n << "c = arith.xori %kc" << n << "b, %l8 : index\n"
        << "    %kc" << n << " = arith.muli %kc" << n << "c, %c8 : index\n"
        << ldm("kf" + n, false, "%c0", "%kr" + ns, "%kc" + n);
      std::string kb0 = str(2 * kp), kb1 = str(2 * kp + 1);
      o << mma("s" + n + "x", "%qa" + kb0 + "_0", "%qa" + kb0 + "_1",
               "%kf" + n + "_0", "%kf" + n + "_1", c0, c1);
      o << mma("s" + n + "y", "%qa" + kb1 + "_0", "%qa" + kb1 + "_1",
               "%kf" + n + "_2", "%kf" + n + "_3", "%s" + n + "x_0",
               "%s" + n + "x_1");
      c0 = "%s" + n + "y_0";
      c1 = "%s" + n + "y_1";
    }
    // Scale and mask: columns nb * 8 + 2t and + 1 of the warp's 16 tokens.
    for (int e = 0; e < 2; ++e) {
      std::string n = ns + str(e);
      o << "    %cpo" << n << " = arith.constant " << nb * 8 + e << " : index\n"
        << "    %cpa" << n << " = arith.addi %tbase, %cpo" << n << " : index\n"
        << "    %cp" << n << " = arith.addi %cpa" << n << ", %t2 : index\n"
        << "    %cv" << n << " = arith.cmpi ult, %cp" << n << ", %hi : index\n"
        << "    %sc" << n << " = arith.mulf " << (e ? c1 : c0) << ", %scale : f32\n"
        << "    %x" << n << " = arith.select %cv" << n << ", %sc" << n << ", %ninf : f32\n";
    }
  }
  // Online softmax of head row g over the 4 lanes that hold it.
  o << R"(    %mx0 = arith.maximumf %x00, %x01 : f32
    %mx1 = arith.maximumf %x10, %x11 : f32
    %mx2 = arith.maximumf %mx0, %mx1 : f32
    %sh1, %sh1ok = gpu.shuffle xor %mx2, %c1i, %c32i : f32
    %mx3 = arith.maximumf %mx2, %sh1 : f32
    %sh2, %sh2ok = gpu.shuffle xor %mx3, %c2i, %c32i : f32
    %mx4 = arith.maximumf %mx3, %sh2 : f32
    %mn = arith.maximumf %m, %mx4 : f32
    %none = arith.cmpf oeq, %mn, %ninf : f32
    %dm = arith.subf %m, %mn : f32
    %al0 = math.exp %dm : f32
    %al = arith.select %none, %one, %al0 : f32
)";
  for (const char *n : {"00", "01", "10", "11"})
    o << "    %d" << n << " = arith.subf %x" << n << ", %mn : f32\n"
      << "    %e" << n << "a = math.exp %d" << n << " : f32\n"
      << "    %e" << n << " = arith.select %none, %zf, %e" << n << "a : f32\n";
  o << R"(    %ls0 = arith.addf %e00, %e01 : f32
    %ls1 = arith.addf %e10, %e11 : f32
    %ls2 = arith.addf %ls0, %ls1 : f32
    %lsc = arith.mulf %l, %al : f32
    %ln = arith.addf %lsc, %ls2 : f32
    %pv0 = vector.from_elements %e00, %e01 : vector<2xf32>
    %pb0 = arith.truncf %pv0 : vector<2xf32> to vector<2xbf16>
    %pw0 = vector.bitcast %pb0 : vector<2xbf16> to vector<1xi32>
    %pa0 = vector.extract %pw0[0] : i32 from vector<1xi32>
    %pv1 = vector.from_elements %e10, %e11 : vector<2xf32>
    %pb1 = arith.truncf %pv1 : vector<2xf32> to vector<2xbf16>
    %pw1 = vector.bitcast %pb1 : vector<2xbf16> to vector<1xi32>
    %pa1 = vector.extract %pw1[0] : i32 from vector<1xi32>
    %vr0 = arith.muli %lm2, %c8 : index
    %vr1 = arith.addi %w16, %vr0 : index
    %vrow = arith.addi %vr1, %l8 : index
)";
  // O = O * alpha + P V over D / 16 pairs of n-blocks.
  for (int64_t np = 0; np < D / 16; ++np) {
    std::string n = str(np);
    o << "    %vc" << n << "a = arith.constant " << 2 * np << " : index\n"
      << "    %vc" << n << "b = arith.addi %vc" << n << "a, %lmd : index\n"
      << "    %vc" << n << "c = arith.xori %vc" << n << "b, %l8 : index\n"
      << "    %vc" << n << " = arith.muli %vc" << n << "c, %c8 : index\n"
      << ldm("vf" + n, true, "%c1", "%vrow", "%vc" + n);
    for (int j = 0; j < 2; ++j) {
      int64_t nbk = 2 * np + j;
      std::string ob = str(nbk);
      o << "    %os" << ob << "a = arith.mulf %o" << ob << "a, %al : f32\n"
        << "    %os" << ob << "b = arith.mulf %o" << ob << "b, %al : f32\n"
        << mma("on" + ob, "%pa0", "%pa1", "%vf" + n + "_" + str(2 * j),
               "%vf" + n + "_" + str(2 * j + 1), "%os" + ob + "a",
               "%os" + ob + "b");
    }
  }
  o << "    scf.yield %mn, %ln";
  for (int64_t n = 0; n < NB; ++n)
    o << ", %on" << n << "_0, %on" << n << "_1";
  for (int64_t i = 0; i < nIds; ++i)
    o << ", %pfn_" << i;
  o << " : f32, f32";
  for (int64_t n = 0; n < NB; ++n)
    o << ", f32, f32";
  for (int64_t i = 0; i < nIds; ++i)
    o << ", i32";
  o << "\n  }\n";
  // Row sums over the 4 lanes of a head row; warp partials to shared memory.
  o << "  gpu.barrier\n";
  o << R"(  %lq1, %lq1ok = gpu.shuffle xor %res#1, %c1i, %c32i : f32
  %lr1 = arith.addf %res#1, %lq1 : f32
  %lq2, %lq2ok = gpu.shuffle xor %lr1, %c2i, %c32i : f32
  %lrow = arith.addf %lr1, %lq2 : f32
  scf.if %gval {
    %wG = arith.muli %warp, %cG : index
    %slot = arith.addi %wG, %g : index
    %sbase = arith.muli %slot, %cD : index
    %t0 = arith.cmpi eq, %t, %c0 : index
    scf.if %t0 {
      memref.store %res#0, %sm[%slot] : memref<$NGGxf32, #gpu.address_space<workgroup>>
      memref.store %lrow, %sl[%slot] : memref<$NGGxf32, #gpu.address_space<workgroup>>
    }
)";
  for (int64_t n = 0; n < NB; ++n) {
    std::string ns = str(n);
    o << "    %wd" << ns << "a = arith.constant " << n * 8 << " : index\n"
      << "    %wd" << ns << "c = arith.addi %wd" << ns << "a, %t2 : index\n"
      << "    %wd" << ns << " = arith.addi %sbase, %wd" << ns << "c : index\n"
      << "    %wd" << ns << "b = arith.addi %wd" << ns << ", %c1 : index\n"
      << "    memref.store %res#" << 2 + 2 * n << ", %sacc[%wd" << ns
      << "] : memref<$NGGDxf32, #gpu.address_space<workgroup>>\n"
      << "    memref.store %res#" << 3 + 2 * n << ", %sacc[%wd" << ns
      << "b] : memref<$NGGDxf32, #gpu.address_space<workgroup>>\n";
  }
  o << "  }\n  gpu.barrier\n" << splitPartialCombineText() << "  gpu.return\n}\n";
  return subst(subst(o.str(), vars), vars);
}
