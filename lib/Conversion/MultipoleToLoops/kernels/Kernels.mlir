// Multipole CPU kernels, written in MLIR (scf + memref + arith + math).
//
// convert-multipole-to-loops parses this file once per element type: the
// file is templated by type only: `!E` is replaced by the element type (bf16,
// f16 or f32) and `$T` in symbol names by its name; `@__mp_ext_$T` and
// `@__mp_trunc_$T`, which the pass builds, convert between `!E` and f32
// (test/Conversion/MultipoleToLoops/kernels.mlir verifies all three). Every multipole op becomes a call of one public kernel
// below; the semantics are those of docs/Algorithm.md, in f32 arithmetic
// (RoPE angles in f64). Operands arrive as fully dynamic strided memrefs.

!m1i = memref<?xi32, strided<[?], offset: ?>>
!m3i = memref<?x?x?xi32, strided<[?, ?, ?], offset: ?>>
!m3b = memref<?x?x?xi8, strided<[?, ?, ?], offset: ?>>
!m2f = memref<?x?xf32, strided<[?, ?], offset: ?>>
!m3f = memref<?x?x?xf32, strided<[?, ?, ?], offset: ?>>
!m4f = memref<?x?x?x?xf32, strided<[?, ?, ?, ?], offset: ?>>
!m3e = memref<?x?x?x!E, strided<[?, ?, ?], offset: ?>>
!m4e = memref<?x?x?x?x!E, strided<[?, ?, ?, ?], offset: ?>>
!buf1 = memref<?xf32>
!buf2 = memref<?x?xf32>
!ibuf = memref<?xi32>

//===----------------------------------------------------------------------===//
// Small helpers
//===----------------------------------------------------------------------===//

// Rotates row `t` of `x` (length D) by position `pos` (half-split RoPE).
func.func private @__mp_rope_row_$T(%x: !buf2, %t: index, %D: index,
                                    %pos: f64, %theta: f32) {
  %zero = arith.constant 0.0 : f32
  %off = arith.cmpf oeq, %theta, %zero : f32
  scf.if %off {
  } else {
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %c2 = arith.constant 2 : index
    %half = arith.divui %D, %c2 : index
    %th64 = arith.extf %theta : f32 to f64
    %lnth = math.log %th64 : f64
    %Di = arith.index_cast %D : index to i64
    %Df = arith.sitofp %Di : i64 to f64
    %m2 = arith.constant -2.0 : f64
    scf.for %i = %c0 to %half step %c1 {
      %ii = arith.index_cast %i : index to i64
      %if = arith.sitofp %ii : i64 to f64
      %e0 = arith.mulf %m2, %if : f64
      %e1 = arith.divf %e0, %Df : f64
      %e2 = arith.mulf %e1, %lnth : f64
      %w = math.exp %e2 : f64
      %ang = arith.mulf %pos, %w : f64
      %cs = math.cos %ang : f64
      %sn = math.sin %ang : f64
      %i2 = arith.addi %i, %half : index
      %x1f = memref.load %x[%t, %i] : !buf2
      %x2f = memref.load %x[%t, %i2] : !buf2
      %x1 = arith.extf %x1f : f32 to f64
      %x2 = arith.extf %x2f : f32 to f64
      %a = arith.mulf %x1, %cs : f64
      %b = arith.mulf %x2, %sn : f64
      %y1 = arith.subf %a, %b : f64
      %c = arith.mulf %x2, %cs : f64
      %d = arith.mulf %x1, %sn : f64
      %y2 = arith.addf %c, %d : f64
      %y1f = arith.truncf %y1 : f64 to f32
      %y2f = arith.truncf %y2 : f64 to f32
      memref.store %y1f, %x[%t, %i] : !buf2
      memref.store %y2f, %x[%t, %i2] : !buf2
    }
  }
  return
}

// x[t, :] = src[b, h, j, :] * mul (widened to f32).
func.func private @__mp_load_row_$T(%src: !m4e, %b: index, %h: index, %j: index,
                                    %x: !buf2, %t: index, %D: index, %mul: f32) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  scf.for %d = %c0 to %D step %c1 {
    %e = memref.load %src[%b, %h, %j, %d] : !m4e
    %f = func.call @__mp_ext_$T(%e) : (!E) -> f32
    %g = arith.mulf %f, %mul : f32
    memref.store %g, %x[%t, %d] : !buf2
  }
  return
}

// x[t, :] = pre-RoPE key of token j: rot(k[b, h, j], -j).
func.func private @__mp_load_prerope_$T(%k: !m4e, %b: index, %h: index, %j: index,
                                        %x: !buf2, %t: index, %D: index, %theta: f32) {
  %one = arith.constant 1.0 : f32
  func.call @__mp_load_row_$T(%k, %b, %h, %j, %x, %t, %D, %one)
      : (!m4e, index, index, index, !buf2, index, index, f32) -> ()
  %ji = arith.index_cast %j : index to i64
  %jf = arith.sitofp %ji : i64 to f64
  %neg = arith.negf %jf : f64
  func.call @__mp_rope_row_$T(%x, %t, %D, %neg, %theta)
      : (!buf2, index, index, f64, f32) -> ()
  return
}

// Resets the (b, h) slice of one level of the index: zero centroids and
// counts, offsets 0, members and assignments -1.
func.func private @__mp_reset_level_$T(%cent: !m4f, %vcent: !m4f, %cnt: !m3i,
                                       %off: !m3i, %mem: !m3i, %asg: !m3i,
                                       %b: index, %h: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c3 = arith.constant 3 : index
  %z = arith.constant 0.0 : f32
  %zi = arith.constant 0 : i32
  %mi = arith.constant -1 : i32
  %C = memref.dim %cent, %c2 : !m4f
  %D = memref.dim %cent, %c3 : !m4f
  %M = memref.dim %mem, %c2 : !m3i
  %C1 = memref.dim %off, %c2 : !m3i
  scf.for %c = %c0 to %C step %c1 {
    memref.store %zi, %cnt[%b, %h, %c] : !m3i
    scf.for %d = %c0 to %D step %c1 {
      memref.store %z, %cent[%b, %h, %c, %d] : !m4f
      memref.store %z, %vcent[%b, %h, %c, %d] : !m4f
    }
  }
  scf.for %c = %c0 to %C1 step %c1 {
    memref.store %zi, %off[%b, %h, %c] : !m3i
  }
  scf.for %t = %c0 to %M step %c1 {
    memref.store %mi, %mem[%b, %h, %t] : !m3i
    memref.store %mi, %asg[%b, %h, %t] : !m3i
  }
  return
}

// Squared-distance argmin of row t of P over clusters [cs, cs + n) of
// cent[b, h]: minimises |mu|^2 - 2 x.mu with |mu|^2 precomputed in
// norms[c - cs]; ties go to the lowest id. Returns the local index.
func.func private @__mp_nearest_$T(%P: !buf2, %t: index, %cent: !m4f, %b: index,
                                   %h: index, %cs: index, %n: index,
                                   %norms: !buf1, %D: index) -> index {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %inf = arith.constant 0x7F800000 : f32
  %z = arith.constant 0.0 : f32
  %two = arith.constant 2.0 : f32
  %res:2 = scf.for %c = %c0 to %n step %c1 iter_args(%best = %c0, %bd = %inf)
      -> (index, f32) {
    %gc = arith.addi %cs, %c : index
    %dot = scf.for %d = %c0 to %D step %c1 iter_args(%s = %z) -> (f32) {
      %x = memref.load %P[%t, %d] : !buf2
      %m = memref.load %cent[%b, %h, %gc, %d] : !m4f
      %p = arith.mulf %x, %m : f32
      %s2 = arith.addf %s, %p : f32
      scf.yield %s2 : f32
    }
    %nm = memref.load %norms[%c] : !buf1
    %t2 = arith.mulf %two, %dot : f32
    %dist = arith.subf %nm, %t2 : f32
    %lt = arith.cmpf olt, %dist, %bd : f32
    %nb = arith.select %lt, %c, %best : index
    %nd = arith.select %lt, %dist, %bd : f32
    scf.yield %nb, %nd : index, f32
  }
  return %res#0 : index
}

// norms[c] = |cent[b, h, cs + c]|^2 for c < n.
func.func private @__mp_norms_$T(%cent: !m4f, %b: index, %h: index, %cs: index,
                                 %n: index, %norms: !buf1, %D: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %z = arith.constant 0.0 : f32
  scf.for %c = %c0 to %n step %c1 {
    %gc = arith.addi %cs, %c : index
    %s = scf.for %d = %c0 to %D step %c1 iter_args(%a = %z) -> (f32) {
      %m = memref.load %cent[%b, %h, %gc, %d] : !m4f
      %p = arith.mulf %m, %m : f32
      %a2 = arith.addf %a, %p : f32
      scf.yield %a2 : f32
    }
    memref.store %s, %norms[%c] : !buf1
  }
  return
}

// Weighted Lloyd iterations over points P[0..L) (weights W) and clusters
// [cs, cs + n) of cent[b, h] (docs/Algorithm.md, "k-means on a block").
// Writes the local assignment of each point to A, the centroids (weighted
// means) and counts (sum of weights). With %init, seeds evenly first.
func.func private @__mp_kmeans_$T(%P: !buf2, %W: !buf1, %L: index, %cent: !m4f,
                                  %cnt: !m3i, %b: index, %h: index, %cs: index,
                                  %n: index, %A: !ibuf, %iters: index, %init: i1,
                                  %norms: !buf1, %wsum: !buf1, %D: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %z = arith.constant 0.0 : f32
  %zi = arith.constant 0 : i32
  %h1 = arith.constant 7919 : index
  %h2 = arith.constant 104729 : index
  scf.if %init {
    scf.for %c = %c0 to %n step %c1 {
      %cl = arith.muli %c, %L : index
      %t = arith.divui %cl, %n : index
      %gc = arith.addi %cs, %c : index
      scf.for %d = %c0 to %D step %c1 {
        %x = memref.load %P[%t, %d] : !buf2
        memref.store %x, %cent[%b, %h, %gc, %d] : !m4f
      }
    }
  }
  %last = arith.subi %iters, %c1 : index
  scf.for %it = %c0 to %iters step %c1 {
    // Assignment step.
    func.call @__mp_norms_$T(%cent, %b, %h, %cs, %n, %norms, %D)
        : (!m4f, index, index, index, index, !buf1, index) -> ()
    scf.for %t = %c0 to %L step %c1 {
      %best = func.call @__mp_nearest_$T(%P, %t, %cent, %b, %h, %cs, %n, %norms, %D)
          : (!buf2, index, !m4f, index, index, index, index, !buf1, index) -> index
      %bi = arith.index_cast %best : index to i32
      memref.store %bi, %A[%t] : !ibuf
    }
    // Update step: weighted means.
    scf.for %c = %c0 to %n step %c1 {
      %gc = arith.addi %cs, %c : index
      memref.store %z, %wsum[%c] : !buf1
      scf.for %d = %c0 to %D step %c1 {
        memref.store %z, %cent[%b, %h, %gc, %d] : !m4f
      }
    }
    scf.for %t = %c0 to %L step %c1 {
      %ai = memref.load %A[%t] : !ibuf
      %a = arith.index_cast %ai : i32 to index
      %ga = arith.addi %cs, %a : index
      %w = memref.load %W[%t] : !buf1
      %ws = memref.load %wsum[%a] : !buf1
      %ws2 = arith.addf %ws, %w : f32
      memref.store %ws2, %wsum[%a] : !buf1
      scf.for %d = %c0 to %D step %c1 {
        %x = memref.load %P[%t, %d] : !buf2
        %m = memref.load %cent[%b, %h, %ga, %d] : !m4f
        %wx = arith.mulf %w, %x : f32
        %m2 = arith.addf %m, %wx : f32
        memref.store %m2, %cent[%b, %h, %ga, %d] : !m4f
      }
    }
    %islast = arith.cmpi eq, %it, %last : index
    scf.for %c = %c0 to %n step %c1 {
      %gc = arith.addi %cs, %c : index
      %ws = memref.load %wsum[%c] : !buf1
      %nonempty = arith.cmpf ogt, %ws, %z : f32
      scf.if %nonempty {
        scf.for %d = %c0 to %D step %c1 {
          %m = memref.load %cent[%b, %h, %gc, %d] : !m4f
          %m2 = arith.divf %m, %ws : f32
          memref.store %m2, %cent[%b, %h, %gc, %d] : !m4f
        }
        %wi = arith.fptosi %ws : f32 to i32
        memref.store %wi, %cnt[%b, %h, %gc] : !m3i
      } else {
        memref.store %zi, %cnt[%b, %h, %gc] : !m3i
        scf.if %islast {
        } else {
          // Re-seed an empty cluster from the data.
          %p1 = arith.muli %c, %h1 : index
          %p2 = arith.muli %it, %h2 : index
          %p3 = arith.addi %p1, %p2 : index
          %t = arith.remui %p3, %L : index
          scf.for %d = %c0 to %D step %c1 {
            %x = memref.load %P[%t, %d] : !buf2
            memref.store %x, %cent[%b, %h, %gc, %d] : !m4f
          }
        }
      }
    }
  }
  return
}

// Value centroids of clusters [cfrom, nc) from the tokens [tfrom, tend), then
// the member lists (CSR, tokens ascending) of the whole level from assign.
func.func private @__mp_finish_level0_$T(%v: !m4e, %cnt: !m3i, %off: !m3i,
                                         %mem: !m3i, %asg: !m3i, %vcent: !m4f,
                                         %b: index, %h: index, %cfrom: index,
                                         %nc: index, %tfrom: index, %tend: index,
                                         %rfrom: index, %cursor: !ibuf) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c3 = arith.constant 3 : index
  %z = arith.constant 0.0 : f32
  %zi = arith.constant 0 : i32
  %mi = arith.constant -1 : i32
  %D = memref.dim %vcent, %c3 : !m4f
  %C = memref.dim %cnt, %c2 : !m3i
  %M = memref.dim %mem, %c2 : !m3i
  %cfromi = arith.index_cast %cfrom : index to i32
  scf.for %c = %cfrom to %nc step %c1 {
    scf.for %d = %c0 to %D step %c1 {
      memref.store %z, %vcent[%b, %h, %c, %d] : !m4f
    }
  }
  scf.for %j = %tfrom to %tend step %c1 {
    %ai = memref.load %asg[%b, %h, %j] : !m3i
    %ok = arith.cmpi sge, %ai, %cfromi : i32
    scf.if %ok {
      %a = arith.index_cast %ai : i32 to index
      scf.for %d = %c0 to %D step %c1 {
        %e = memref.load %v[%b, %h, %j, %d] : !m4e
        %f = func.call @__mp_ext_$T(%e) : (!E) -> f32
        %m = memref.load %vcent[%b, %h, %a, %d] : !m4f
        %m2 = arith.addf %m, %f : f32
        memref.store %m2, %vcent[%b, %h, %a, %d] : !m4f
      }
    }
  }
  scf.for %c = %cfrom to %nc step %c1 {
    %ni = memref.load %cnt[%b, %h, %c] : !m3i
    %pos = arith.cmpi sgt, %ni, %zi : i32
    scf.if %pos {
      %nf = arith.sitofp %ni : i32 to f32
      scf.for %d = %c0 to %D step %c1 {
        %m = memref.load %vcent[%b, %h, %c, %d] : !m4f
        %m2 = arith.divf %m, %nf : f32
        memref.store %m2, %vcent[%b, %h, %c, %d] : !m4f
      }
    }
  }
  // CSR over the whole level: offsets by prefix sum, members by counting sort.
  memref.store %zi, %off[%b, %h, %c0] : !m3i
  %total = scf.for %c = %c0 to %C step %c1 iter_args(%acc = %zi) -> (i32) {
    %in = arith.cmpi ult, %c, %nc : index
    %ni = memref.load %cnt[%b, %h, %c] : !m3i
    %add = arith.select %in, %ni, %zi : i32
    memref.store %acc, %cursor[%c] : !ibuf
    %acc2 = arith.addi %acc, %add : i32
    %c1p = arith.addi %c, %c1 : index
    memref.store %acc2, %off[%b, %h, %c1p] : !m3i
    scf.yield %acc2 : i32
  }
  scf.for %p = %c0 to %M step %c1 {
    memref.store %mi, %mem[%b, %h, %p] : !m3i
  }
  scf.for %j = %rfrom to %tend step %c1 {
    %ai = memref.load %asg[%b, %h, %j] : !m3i
    %ok = arith.cmpi sge, %ai, %zi : i32
    scf.if %ok {
      %a = arith.index_cast %ai : i32 to index
      %pi = memref.load %cursor[%a] : !ibuf
      %p = arith.index_cast %pi : i32 to index
      %ji = arith.index_cast %j : index to i32
      memref.store %ji, %mem[%b, %h, %p] : !m3i
      %one = arith.constant 1 : i32
      %pi2 = arith.addi %pi, %one : i32
      memref.store %pi2, %cursor[%a] : !ibuf
    }
  }
  return
}

// Clustered length at build: max(0, floor((n - S - I) / I)) * I.
func.func private @__mp_clustered_len_$T(%n: index, %S: index, %I: index) -> index {
  %c0 = arith.constant 0 : index
  %si = arith.addi %S, %I : index
  %si2 = arith.addi %si, %I : index
  %ok = arith.cmpi uge, %n, %si2 : index
  %r = scf.if %ok -> (index) {
    %x = arith.subi %n, %si : index
    %q = arith.divui %x, %I : index
    %lc = arith.muli %q, %I : index
    scf.yield %lc : index
  } else {
    scf.yield %c0 : index
  }
  return %r : index
}

// Clusters per block: max(1, floor(f * L)).
func.func private @__mp_block_clusters_$T(%L: index, %f: f64) -> index {
  %c1 = arith.constant 1 : index
  %Li = arith.index_cast %L : index to i64
  %Lf = arith.sitofp %Li : i64 to f64
  %p = arith.mulf %Lf, %f : f64
  %fl = math.floor %p : f64
  %ci = arith.fptosi %fl : f64 to i64
  %c = arith.index_cast %ci : i64 to index
  %r = arith.maxui %c, %c1 : index
  return %r : index
}

// lens[b] clamped to [0, N].
func.func private @__mp_len_$T(%lens: !m1i, %b: index, %N: index) -> index {
  %c0 = arith.constant 0 : index
  %li = memref.load %lens[%b] : !m1i
  %l = arith.index_cast %li : i32 to index
  %zi = arith.constant 0 : i32
  %neg = arith.cmpi slt, %li, %zi : i32
  %l0 = arith.select %neg, %c0, %l : index
  %r = arith.minui %l0, %N : index
  return %r : index
}

//===----------------------------------------------------------------------===//
// multipole.cluster_build
//===----------------------------------------------------------------------===//

func.func private @__mp_cluster_build_$T(
    %k: !m4e, %v: !m4e, %lens: !m1i,
    %cent: !m4f, %vcent: !m4f, %cnt: !m3i, %off: !m3i, %mem: !m3i, %asg: !m3i,
    %st: !m3i,
    %sink: i64, %interval: i64, %bs: i64, %biters: i64, %uiters: i64,
    %frac: f64, %theta: f32, %kextra: i64) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c3 = arith.constant 3 : index
  %one = arith.constant 1.0 : f32
  %true = arith.constant true
  %B = memref.dim %k, %c0 : !m4e
  %H = memref.dim %k, %c1 : !m4e
  %N = memref.dim %k, %c2 : !m4e
  %D = memref.dim %k, %c3 : !m4e
  %C = memref.dim %cent, %c2 : !m4f
  %S = arith.index_cast %sink : i64 to index
  %I = arith.index_cast %interval : i64 to index
  %BS = arith.index_cast %bs : i64 to index
  %iters = arith.index_cast %biters : i64 to index
  %halfBS = arith.divui %BS, %c2 : index
  %maxL0 = arith.addi %BS, %halfBS : index
  %maxL1 = arith.addi %maxL0, %I : index
  %maxL2 = arith.minui %maxL1, %N : index
  %maxL = arith.maxui %maxL2, %c1 : index
  %P = memref.alloc(%maxL, %D) : !buf2
  %W = memref.alloc(%maxL) : !buf1
  %A = memref.alloc(%maxL) : !ibuf
  %norms = memref.alloc(%C) : !buf1
  %wsum = memref.alloc(%C) : !buf1
  %cursor = memref.alloc(%C) : !ibuf
  scf.for %t = %c0 to %maxL step %c1 {
    memref.store %one, %W[%t] : !buf1
  }
  scf.for %b = %c0 to %B step %c1 {
    scf.for %h = %c0 to %H step %c1 {
      func.call @__mp_reset_level_$T(%cent, %vcent, %cnt, %off, %mem, %asg, %b, %h)
          : (!m4f, !m4f, !m3i, !m3i, !m3i, !m3i, index, index) -> ()
      %n = func.call @__mp_len_$T(%lens, %b, %N) : (!m1i, index, index) -> index
      %Lc = func.call @__mp_clustered_len_$T(%n, %S, %I) : (index, index, index) -> index
      %nb = arith.divui %Lc, %BS : index
      %nbBS = arith.muli %nb, %BS : index
      %rem = arith.subi %Lc, %nbBS : index
      %isz = arith.cmpi eq, %Lc, %c0 : index
      %nbz = arith.cmpi eq, %nb, %c0 : index
      %bigrem = arith.cmpi uge, %rem, %halfBS : index
      %nbp1 = arith.addi %nb, %c1 : index
      %nblk0 = arith.select %bigrem, %nbp1, %nb : index
      %nblk1 = arith.select %nbz, %c1, %nblk0 : index
      %nblk = arith.select %isz, %c0, %nblk1 : index
      %res:4 = scf.for %i = %c0 to %nblk step %c1
          iter_args(%cs = %c0, %start = %S, %ls = %S, %lcs = %c0)
          -> (index, index, index, index) {
        // Length of block i.
        %nbm1 = arith.subi %nb, %c1 : index
        %bsrem = arith.addi %BS, %rem : index
        %ltnb = arith.cmpi ult, %i, %nb : index
        %ltnbm1 = arith.cmpi ult, %i, %nbm1 : index
        %lbig = arith.select %ltnb, %BS, %rem : index
        %lsmall = arith.select %ltnbm1, %BS, %bsrem : index
        %l01 = arith.select %bigrem, %lbig, %lsmall : index
        %L = arith.select %nbz, %Lc, %l01 : index
        %Cb = func.call @__mp_block_clusters_$T(%L, %frac) : (index, f64) -> index
        scf.for %t = %c0 to %L step %c1 {
          %j = arith.addi %start, %t : index
          func.call @__mp_load_prerope_$T(%k, %b, %h, %j, %P, %t, %D, %theta)
              : (!m4e, index, index, index, !buf2, index, index, f32) -> ()
        }
        func.call @__mp_kmeans_$T(%P, %W, %L, %cent, %cnt, %b, %h, %cs, %Cb, %A,
                                  %iters, %true, %norms, %wsum, %D)
            : (!buf2, !buf1, index, !m4f, !m3i, index, index, index, index,
               !ibuf, index, i1, !buf1, !buf1, index) -> ()
        %csi = arith.index_cast %cs : index to i32
        scf.for %t = %c0 to %L step %c1 {
          %j = arith.addi %start, %t : index
          %a = memref.load %A[%t] : !ibuf
          %g = arith.addi %a, %csi : i32
          memref.store %g, %asg[%b, %h, %j] : !m3i
        }
        %ncs = arith.addi %cs, %Cb : index
        %nstart = arith.addi %start, %L : index
        scf.yield %ncs, %nstart, %start, %cs : index, index, index, index
      }
      %tend = arith.addi %S, %Lc : index
      func.call @__mp_finish_level0_$T(%v, %cnt, %off, %mem, %asg, %vcent, %b, %h,
                                       %c0, %res#0, %S, %tend, %S, %cursor)
          : (!m4e, !m3i, !m3i, !m3i, !m3i, !m4f, index, index, index, index,
             index, index, index, !ibuf) -> ()
      %nci = arith.index_cast %res#0 : index to i32
      %lci = arith.index_cast %Lc : index to i32
      %lsi = arith.index_cast %res#2 : index to i32
      %lcsi = arith.index_cast %res#3 : index to i32
      memref.store %nci, %st[%b, %h, %c0] : !m3i
      memref.store %lci, %st[%b, %h, %c1] : !m3i
      memref.store %lsi, %st[%b, %h, %c2] : !m3i
      memref.store %lcsi, %st[%b, %h, %c3] : !m3i
    }
  }
  memref.dealloc %P : !buf2
  memref.dealloc %W : !buf1
  memref.dealloc %A : !ibuf
  memref.dealloc %norms : !buf1
  memref.dealloc %wsum : !buf1
  memref.dealloc %cursor : !ibuf
  return
}

//===----------------------------------------------------------------------===//
// multipole.cluster_update
//===----------------------------------------------------------------------===//

func.func private @__mp_cluster_update_$T(
    %k: !m4e, %v: !m4e, %lens: !m1i,
    %cent: !m4f, %vcent: !m4f, %cnt: !m3i, %off: !m3i, %mem: !m3i, %asg: !m3i,
    %st: !m3i,
    %sink: i64, %interval: i64, %bs: i64, %biters: i64, %uiters: i64,
    %frac: f64, %theta: f32, %kextra64: i64) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c3 = arith.constant 3 : index
  %one = arith.constant 1.0 : f32
  %onei = arith.constant 1 : i32
  %false = arith.constant false
  %true = arith.constant true
  %B = memref.dim %k, %c0 : !m4e
  %H = memref.dim %k, %c1 : !m4e
  %N = memref.dim %k, %c2 : !m4e
  %D = memref.dim %k, %c3 : !m4e
  %C = memref.dim %cent, %c2 : !m4f
  %S = arith.index_cast %sink : i64 to index
  %I = arith.index_cast %interval : i64 to index
  %BS = arith.index_cast %bs : i64 to index
  %iters = arith.index_cast %uiters : i64 to index
  %kx = arith.index_cast %kextra64 : i64 to index
  %halfBS = arith.divui %BS, %c2 : index
  %limit = arith.addi %BS, %halfBS : index
  %twoI = arith.addi %I, %I : index
  %maxL0 = arith.addi %limit, %I : index
  %maxL1 = arith.minui %maxL0, %N : index
  %maxL = arith.maxui %maxL1, %c1 : index
  %P = memref.alloc(%maxL, %D) : !buf2
  %X = memref.alloc(%c1, %D) : !buf2
  %W = memref.alloc(%maxL) : !buf1
  %A = memref.alloc(%maxL) : !ibuf
  %norms = memref.alloc(%C) : !buf1
  %wsum = memref.alloc(%C) : !buf1
  %cursor = memref.alloc(%C) : !ibuf
  scf.for %t = %c0 to %maxL step %c1 {
    memref.store %one, %W[%t] : !buf1
  }
  scf.for %b = %c0 to %B step %c1 {
    scf.for %h = %c0 to %H step %c1 {
      %n = func.call @__mp_len_$T(%lens, %b, %N) : (!m1i, index, index) -> index
      %nc0i = memref.load %st[%b, %h, %c0] : !m3i
      %lc0i = memref.load %st[%b, %h, %c1] : !m3i
      %bs0i = memref.load %st[%b, %h, %c2] : !m3i
      %bc0i = memref.load %st[%b, %h, %c3] : !m3i
      %nc0 = arith.index_cast %nc0i : i32 to index
      %lc0 = arith.index_cast %lc0i : i32 to index
      %bs0 = arith.index_cast %bs0i : i32 to index
      %bc0 = arith.index_cast %bc0i : i32 to index
      %r:5 = scf.while (%nc = %nc0, %lc = %lc0, %bst = %bs0, %bcs = %bc0, %ch = %false)
          : (index, index, index, index, i1) -> (index, index, index, index, i1) {
        %slc = arith.addi %S, %lc : index
        %need = arith.addi %slc, %twoI : index
        %more = arith.cmpi uge, %n, %need : index
        %ncx = arith.addi %nc, %kx : index
        %room = arith.cmpi ule, %ncx, %C : index
        %go = arith.andi %more, %room : i1
        scf.condition(%go) %nc, %lc, %bst, %bcs, %ch : index, index, index, index, i1
      } do {
      ^bb0(%nc: index, %lc: index, %bst: index, %bcs: index, %ch: i1):
        %t0 = arith.addi %S, %lc : index
        // Block of the new tokens.
        %first = arith.cmpi eq, %lc, %c0 : index
        %grow0 = arith.addi %t0, %I : index
        %grow = arith.subi %grow0, %bst : index
        %newblk = arith.cmpi ugt, %grow, %limit : index
        %bstA = arith.select %newblk, %t0, %bst : index
        %bcsA = arith.select %newblk, %nc, %bcs : index
        %nbst = arith.select %first, %S, %bstA : index
        %nbcs = arith.select %first, %c0, %bcsA : index
        // Seed k_extra clusters from evenly spaced new tokens.
        scf.for %e = %c0 to %kx step %c1 {
          %eI = arith.muli %e, %I : index
          %off0 = arith.divui %eI, %kx : index
          %j = arith.addi %t0, %off0 : index
          func.call @__mp_load_prerope_$T(%k, %b, %h, %j, %X, %c0, %D, %theta)
              : (!m4e, index, index, index, !buf2, index, index, f32) -> ()
          %gc = arith.addi %nc, %e : index
          scf.for %d = %c0 to %D step %c1 {
            %x = memref.load %X[%c0, %d] : !buf2
            memref.store %x, %cent[%b, %h, %gc, %d] : !m4f
          }
          memref.store %onei, %cnt[%b, %h, %gc] : !m3i
        }
        // The other new tokens: nearest block cluster, running mean.
        %ncx = arith.addi %nc, %kx : index
        %nblkc = arith.subi %ncx, %nbcs : index
        %eEnd = scf.for %t = %c0 to %I step %c1 iter_args(%e = %c0) -> (index) {
          %hasSeed = arith.cmpi ult, %e, %kx : index
          %eI = arith.muli %e, %I : index
          %so = arith.divui %eI, %kx : index
          %isSeedPos = arith.cmpi eq, %so, %t : index
          %isSeed = arith.andi %hasSeed, %isSeedPos : i1
          %en = scf.if %isSeed -> (index) {
            %e1 = arith.addi %e, %c1 : index
            scf.yield %e1 : index
          } else {
            %j = arith.addi %t0, %t : index
            func.call @__mp_load_prerope_$T(%k, %b, %h, %j, %X, %c0, %D, %theta)
                : (!m4e, index, index, index, !buf2, index, index, f32) -> ()
            func.call @__mp_norms_$T(%cent, %b, %h, %nbcs, %nblkc, %norms, %D)
                : (!m4f, index, index, index, index, !buf1, index) -> ()
            %loc = func.call @__mp_nearest_$T(%X, %c0, %cent, %b, %h, %nbcs, %nblkc, %norms, %D)
                : (!buf2, index, !m4f, index, index, index, index, !buf1, index) -> index
            %gc = arith.addi %nbcs, %loc : index
            %ni = memref.load %cnt[%b, %h, %gc] : !m3i
            %ni1 = arith.addi %ni, %onei : i32
            %nf = arith.sitofp %ni1 : i32 to f32
            scf.for %d = %c0 to %D step %c1 {
              %x = memref.load %X[%c0, %d] : !buf2
              %m = memref.load %cent[%b, %h, %gc, %d] : !m4f
              %dx = arith.subf %x, %m : f32
              %q = arith.divf %dx, %nf : f32
              %m2 = arith.addf %m, %q : f32
              memref.store %m2, %cent[%b, %h, %gc, %d] : !m4f
            }
            memref.store %ni1, %cnt[%b, %h, %gc] : !m3i
            scf.yield %e : index
          }
          scf.yield %en : index
        }
        %nlc = arith.addi %lc, %I : index
        // Lloyd passes over the block.
        %tend = arith.addi %S, %nlc : index
        %L = arith.subi %tend, %nbst : index
        scf.for %t = %c0 to %L step %c1 {
          %j = arith.addi %nbst, %t : index
          func.call @__mp_load_prerope_$T(%k, %b, %h, %j, %P, %t, %D, %theta)
              : (!m4e, index, index, index, !buf2, index, index, f32) -> ()
        }
        func.call @__mp_kmeans_$T(%P, %W, %L, %cent, %cnt, %b, %h, %nbcs, %nblkc, %A,
                                  %iters, %false, %norms, %wsum, %D)
            : (!buf2, !buf1, index, !m4f, !m3i, index, index, index, index,
               !ibuf, index, i1, !buf1, !buf1, index) -> ()
        %bcsi = arith.index_cast %nbcs : index to i32
        scf.for %t = %c0 to %L step %c1 {
          %j = arith.addi %nbst, %t : index
          %a = memref.load %A[%t] : !ibuf
          %g = arith.addi %a, %bcsi : i32
          memref.store %g, %asg[%b, %h, %j] : !m3i
        }
        scf.yield %ncx, %nlc, %nbst, %nbcs, %true : index, index, index, index, i1
      }
      scf.if %r#4 {
        // Value centroids from the first block touched on (bcs only grows).
        %tend = arith.addi %S, %r#1 : index
        %wasEmpty = arith.cmpi eq, %lc0, %c0 : index
        %cmin = arith.select %wasEmpty, %c0, %bc0 : index
        %tmin = arith.select %wasEmpty, %S, %bs0 : index
        func.call @__mp_finish_level0_$T(%v, %cnt, %off, %mem, %asg, %vcent, %b, %h,
                                         %cmin, %r#0, %tmin, %tend, %S, %cursor)
            : (!m4e, !m3i, !m3i, !m3i, !m3i, !m4f, index, index, index, index,
               index, index, index, !ibuf) -> ()
        %nci = arith.index_cast %r#0 : index to i32
        %lci = arith.index_cast %r#1 : index to i32
        %bsi = arith.index_cast %r#2 : index to i32
        %bci = arith.index_cast %r#3 : index to i32
        memref.store %nci, %st[%b, %h, %c0] : !m3i
        memref.store %lci, %st[%b, %h, %c1] : !m3i
        memref.store %bsi, %st[%b, %h, %c2] : !m3i
        memref.store %bci, %st[%b, %h, %c3] : !m3i
      }
    }
  }
  memref.dealloc %P : !buf2
  memref.dealloc %X : !buf2
  memref.dealloc %W : !buf1
  memref.dealloc %A : !ibuf
  memref.dealloc %norms : !buf1
  memref.dealloc %wsum : !buf1
  memref.dealloc %cursor : !ibuf
  return
}

//===----------------------------------------------------------------------===//
// multipole.cluster_coarsen
//===----------------------------------------------------------------------===//

func.func private @__mp_cluster_coarsen_$T(
    %fcent: !m4f, %fvcent: !m4f, %fcnt: !m3i, %foff: !m3i, %fmem: !m3i,
    %fasg: !m3i, %fst: !m3i,
    %cent: !m4f, %vcent: !m4f, %cnt: !m3i, %off: !m3i, %mem: !m3i, %asg: !m3i,
    %st: !m3i,
    %sink: i64, %interval: i64, %bs: i64, %biters: i64, %uiters: i64,
    %frac: f64, %theta: f32, %kextra: i64) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c3 = arith.constant 3 : index
  %z = arith.constant 0.0 : f32
  %zi = arith.constant 0 : i32
  %onei = arith.constant 1 : i32
  %true = arith.constant true
  %B = memref.dim %fcent, %c0 : !m4f
  %H = memref.dim %fcent, %c1 : !m4f
  %Cf = memref.dim %fcent, %c2 : !m4f
  %D = memref.dim %fcent, %c3 : !m4f
  %Cc = memref.dim %cent, %c2 : !m4f
  %iters = arith.index_cast %biters : i64 to index
  %Cfm = arith.maxui %Cf, %c1 : index
  %P = memref.alloc(%Cfm, %D) : !buf2
  %W = memref.alloc(%Cfm) : !buf1
  %ids = memref.alloc(%Cfm) : !ibuf
  %A = memref.alloc(%Cfm) : !ibuf
  %norms = memref.alloc(%Cc) : !buf1
  %wsum = memref.alloc(%Cc) : !buf1
  %cursor = memref.alloc(%Cc) : !ibuf
  scf.for %b = %c0 to %B step %c1 {
    scf.for %h = %c0 to %H step %c1 {
      func.call @__mp_reset_level_$T(%cent, %vcent, %cnt, %off, %mem, %asg, %b, %h)
          : (!m4f, !m4f, !m3i, !m3i, !m3i, !m3i, index, index) -> ()
      %nci = memref.load %fst[%b, %h, %c0] : !m3i
      %nc = arith.index_cast %nci : i32 to index
      // Points: the non-empty fine clusters, weighted by their token counts.
      %m = scf.for %c = %c0 to %nc step %c1 iter_args(%mm = %c0) -> (index) {
        %ni = memref.load %fcnt[%b, %h, %c] : !m3i
        %pos = arith.cmpi sgt, %ni, %zi : i32
        %mn = scf.if %pos -> (index) {
          scf.for %d = %c0 to %D step %c1 {
            %x = memref.load %fcent[%b, %h, %c, %d] : !m4f
            memref.store %x, %P[%mm, %d] : !buf2
          }
          %nf = arith.sitofp %ni : i32 to f32
          memref.store %nf, %W[%mm] : !buf1
          %ci = arith.index_cast %c : index to i32
          memref.store %ci, %ids[%mm] : !ibuf
          %m1 = arith.addi %mm, %c1 : index
          scf.yield %m1 : index
        } else {
          scf.yield %mm : index
        }
        scf.yield %mn : index
      }
      %any = arith.cmpi ugt, %m, %c0 : index
      %ncc = scf.if %any -> (index) {
        %Cb0 = func.call @__mp_block_clusters_$T(%m, %frac) : (index, f64) -> index
        %Cb = arith.minui %Cb0, %Cc : index
        func.call @__mp_kmeans_$T(%P, %W, %m, %cent, %cnt, %b, %h, %c0, %Cb, %A,
                                  %iters, %true, %norms, %wsum, %D)
            : (!buf2, !buf1, index, !m4f, !m3i, index, index, index, index,
               !ibuf, index, i1, !buf1, !buf1, index) -> ()
        // Parents, value centroids (token-weighted), member counts.
        scf.for %c = %c0 to %Cb step %c1 {
          memref.store %zi, %cursor[%c] : !ibuf
        }
        scf.for %t = %c0 to %m step %c1 {
          %ai = memref.load %A[%t] : !ibuf
          %a = arith.index_cast %ai : i32 to index
          %fi = memref.load %ids[%t] : !ibuf
          %f = arith.index_cast %fi : i32 to index
          memref.store %ai, %asg[%b, %h, %f] : !m3i
          %w = memref.load %W[%t] : !buf1
          scf.for %d = %c0 to %D step %c1 {
            %x = memref.load %fvcent[%b, %h, %f, %d] : !m4f
            %acc = memref.load %vcent[%b, %h, %a, %d] : !m4f
            %wx = arith.mulf %w, %x : f32
            %acc2 = arith.addf %acc, %wx : f32
            memref.store %acc2, %vcent[%b, %h, %a, %d] : !m4f
          }
          %k0 = memref.load %cursor[%a] : !ibuf
          %k1 = arith.addi %k0, %onei : i32
          memref.store %k1, %cursor[%a] : !ibuf
        }
        scf.for %c = %c0 to %Cb step %c1 {
          %ni = memref.load %cnt[%b, %h, %c] : !m3i
          %pos = arith.cmpi sgt, %ni, %zi : i32
          scf.if %pos {
            %nf = arith.sitofp %ni : i32 to f32
            scf.for %d = %c0 to %D step %c1 {
              %x = memref.load %vcent[%b, %h, %c, %d] : !m4f
              %y = arith.divf %x, %nf : f32
              memref.store %y, %vcent[%b, %h, %c, %d] : !m4f
            }
          }
        }
        // CSR over fine ids: offsets from member counts, then fill.
        %Cc1 = arith.addi %Cc, %c0 : index
        %tot = scf.for %c = %c0 to %Cc1 step %c1 iter_args(%acc = %zi) -> (i32) {
          %in = arith.cmpi ult, %c, %Cb : index
          %k = scf.if %in -> (i32) {
            %kk = memref.load %cursor[%c] : !ibuf
            scf.yield %kk : i32
          } else {
            scf.yield %zi : i32
          }
          memref.store %acc, %off[%b, %h, %c] : !m3i
          %acc2 = arith.addi %acc, %k : i32
          %cp = arith.addi %c, %c1 : index
          memref.store %acc2, %off[%b, %h, %cp] : !m3i
          scf.yield %acc2 : i32
        }
        scf.for %c = %c0 to %Cb step %c1 {
          %o = memref.load %off[%b, %h, %c] : !m3i
          memref.store %o, %cursor[%c] : !ibuf
        }
        scf.for %f = %c0 to %nc step %c1 {
          %ai = memref.load %asg[%b, %h, %f] : !m3i
          %ok = arith.cmpi sge, %ai, %zi : i32
          scf.if %ok {
            %a = arith.index_cast %ai : i32 to index
            %pi = memref.load %cursor[%a] : !ibuf
            %p = arith.index_cast %pi : i32 to index
            %fi = arith.index_cast %f : index to i32
            memref.store %fi, %mem[%b, %h, %p] : !m3i
            %pi2 = arith.addi %pi, %onei : i32
            memref.store %pi2, %cursor[%a] : !ibuf
          }
        }
        scf.yield %Cb : index
      } else {
        scf.yield %c0 : index
      }
      %ncci = arith.index_cast %ncc : index to i32
      %lci = memref.load %fst[%b, %h, %c1] : !m3i
      memref.store %ncci, %st[%b, %h, %c0] : !m3i
      memref.store %lci, %st[%b, %h, %c1] : !m3i
      memref.store %zi, %st[%b, %h, %c2] : !m3i
      memref.store %zi, %st[%b, %h, %c3] : !m3i
    }
  }
  memref.dealloc %P : !buf2
  memref.dealloc %W : !buf1
  memref.dealloc %ids : !ibuf
  memref.dealloc %A : !ibuf
  memref.dealloc %norms : !buf1
  memref.dealloc %wsum : !buf1
  memref.dealloc %cursor : !ibuf
  return
}

//===----------------------------------------------------------------------===//
// multipole.centroid_score
//===----------------------------------------------------------------------===//

func.func private @__mp_centroid_score_$T(
    %q: !m3e, %cent: !m4f, %vcent: !m4f, %cnt: !m3i, %off: !m3i, %mem: !m3i,
    %asg: !m3i, %st: !m3i, %lens: !m1i, %r: !m3f, %a: !m3f,
    %scale: f32, %spos: i64, %theta: f32) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %z = arith.constant 0.0 : f32
  %zi = arith.constant 0 : i32
  %mone = arith.constant -1.0 : f32
  %ninf = arith.constant 0xFF800000 : f32
  %one = arith.constant 1.0 : f32
  %B = memref.dim %q, %c0 : !m3e
  %Hq = memref.dim %q, %c1 : !m3e
  %D = memref.dim %q, %c2 : !m3e
  %H = memref.dim %cent, %c1 : !m4f
  %C = memref.dim %cent, %c2 : !m4f
  %G = arith.divui %Hq, %H : index
  %big = arith.constant 2147483647 : index
  %qs = memref.alloc(%c1, %D) : !buf2
  %sp = arith.sitofp %spos : i64 to f64
  scf.for %b = %c0 to %B step %c1 {
    %n = func.call @__mp_len_$T(%lens, %b, %big) : (!m1i, index, index) -> index
    %ni = arith.index_cast %n : index to i64
    %nf = arith.sitofp %ni : i64 to f64
    %onef = arith.constant 1.0 : f64
    %qpos = arith.subf %nf, %onef : f64
    %rot = arith.subf %sp, %qpos : f64
    scf.for %h = %c0 to %H step %c1 {
      %nci = memref.load %st[%b, %h, %c0] : !m3i
      %nc = arith.index_cast %nci : i32 to index
      scf.for %c = %c0 to %C step %c1 {
        %in = arith.cmpi ult, %c, %nc : index
        %k = memref.load %cnt[%b, %h, %c] : !m3i
        %ne = arith.cmpi sgt, %k, %zi : i32
        %live = arith.andi %in, %ne : i1
        %init = arith.select %live, %z, %mone : f32
        memref.store %init, %r[%b, %h, %c] : !m3f
      }
      scf.for %g = %c0 to %G step %c1 {
        %hG = arith.muli %h, %G : index
        %i = arith.addi %hG, %g : index
        scf.for %d = %c0 to %D step %c1 {
          %e = memref.load %q[%b, %i, %d] : !m3e
          %f = func.call @__mp_ext_$T(%e) : (!E) -> f32
          memref.store %f, %qs[%c0, %d] : !buf2
        }
        func.call @__mp_rope_row_$T(%qs, %c0, %D, %rot, %theta)
            : (!buf2, index, index, f64, f32) -> ()
        %mx = scf.for %c = %c0 to %C step %c1 iter_args(%m = %ninf) -> (f32) {
          %in = arith.cmpi ult, %c, %nc : index
          %res = scf.if %in -> (f32) {
            %dot = scf.for %d = %c0 to %D step %c1 iter_args(%s = %z) -> (f32) {
              %x = memref.load %qs[%c0, %d] : !buf2
              %y = memref.load %cent[%b, %h, %c, %d] : !m4f
              %p = arith.mulf %x, %y : f32
              %s2 = arith.addf %s, %p : f32
              scf.yield %s2 : f32
            }
            %av = arith.mulf %dot, %scale : f32
            memref.store %av, %a[%b, %i, %c] : !m3f
            %k = memref.load %cnt[%b, %h, %c] : !m3i
            %ne = arith.cmpi sgt, %k, %zi : i32
            %mm = arith.maximumf %m, %av : f32
            %m2 = arith.select %ne, %mm, %m : f32
            scf.yield %m2 : f32
          } else {
            memref.store %ninf, %a[%b, %i, %c] : !m3f
            scf.yield %m : f32
          }
          scf.yield %res : f32
        }
        %Z = scf.for %c = %c0 to %nc step %c1 iter_args(%s = %z) -> (f32) {
          %k = memref.load %cnt[%b, %h, %c] : !m3i
          %ne = arith.cmpi sgt, %k, %zi : i32
          %av = memref.load %a[%b, %i, %c] : !m3f
          %dx = arith.subf %av, %mx : f32
          %ex = math.exp %dx : f32
          %kf = arith.sitofp %k : i32 to f32
          %w = arith.mulf %kf, %ex : f32
          %w2 = arith.select %ne, %w, %z : f32
          %s2 = arith.addf %s, %w2 : f32
          scf.yield %s2 : f32
        }
        scf.for %c = %c0 to %nc step %c1 {
          %k = memref.load %cnt[%b, %h, %c] : !m3i
          %ne = arith.cmpi sgt, %k, %zi : i32
          scf.if %ne {
            %av = memref.load %a[%b, %i, %c] : !m3f
            %dx = arith.subf %av, %mx : f32
            %ex = math.exp %dx : f32
            %p = arith.divf %ex, %Z : f32
            %r0 = memref.load %r[%b, %h, %c] : !m3f
            %r1 = arith.addf %r0, %p : f32
            memref.store %r1, %r[%b, %h, %c] : !m3f
          }
        }
      }
    }
  }
  memref.dealloc %qs : !buf2
  return
}

//===----------------------------------------------------------------------===//
// multipole.select_clusters
//===----------------------------------------------------------------------===//

// Eligible: c < nc, non-empty, and (without parent or) parent selected.
func.func private @__mp_eligible_$T(%cnt: !m3i, %pa: !m3i, %ps: !m3b, %b: index,
                                    %h: index, %c: index, %nc: index,
                                    %hasParent: i1) -> i1 {
  %zi = arith.constant 0 : i32
  %z8 = arith.constant 0 : i8
  %false = arith.constant false
  %in = arith.cmpi ult, %c, %nc : index
  %r = scf.if %in -> (i1) {
    %k = memref.load %cnt[%b, %h, %c] : !m3i
    %ne = arith.cmpi sgt, %k, %zi : i32
    %pr = scf.if %hasParent -> (i1) {
      %p = memref.load %pa[%b, %h, %c] : !m3i
      %hasp = arith.cmpi sge, %p, %zi : i32
      %s = scf.if %hasp -> (i1) {
        %pi = arith.index_cast %p : i32 to index
        %v = memref.load %ps[%b, %h, %pi] : !m3b
        %sel = arith.cmpi ne, %v, %z8 : i8
        scf.yield %sel : i1
      } else {
        scf.yield %false : i1
      }
      scf.yield %s : i1
    } else {
      %t = arith.constant true
      scf.yield %t : i1
    }
    %both = arith.andi %ne, %pr : i1
    scf.yield %both : i1
  } else {
    scf.yield %false : i1
  }
  return %r : i1
}

func.func private @__mp_select_clusters_$T(
    %r: !m3f, %cent: !m4f, %vcent: !m4f, %cnt: !m3i, %off: !m3i, %mem: !m3i,
    %asg: !m3i, %st: !m3i, %pa: !m3i, %ps: !m3b, %sel: !m3b,
    %btok: i64, %bfrac: f64, %hasParent: i1) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %zi = arith.constant 0 : i32
  %z64 = arith.constant 0 : i64
  %one8 = arith.constant 1 : i8
  %z8 = arith.constant 0 : i8
  %ninf = arith.constant 0xFF800000 : f32
  %B = memref.dim %r, %c0 : !m3f
  %H = memref.dim %r, %c1 : !m3f
  %c2 = arith.constant 2 : index
  %C = memref.dim %r, %c2 : !m3f
  %useTok = arith.cmpi sge, %btok, %z64 : i64
  scf.for %b = %c0 to %B step %c1 {
    scf.for %h = %c0 to %H step %c1 {
      %nci = memref.load %st[%b, %h, %c0] : !m3i
      %nc = arith.index_cast %nci : i32 to index
      %lci = memref.load %st[%b, %h, %c1] : !m3i
      %lcf = arith.sitofp %lci : i32 to f64
      %tf = arith.mulf %bfrac, %lcf : f64
      %tfl = math.floor %tf : f64
      %tfi = arith.fptosi %tfl : f64 to i64
      %T = arith.select %useTok, %btok, %tfi : i64
      %total = scf.for %c = %c0 to %C step %c1 iter_args(%s = %z64) -> (i64) {
        %e = func.call @__mp_eligible_$T(%cnt, %pa, %ps, %b, %h, %c, %nc, %hasParent)
            : (!m3i, !m3i, !m3b, index, index, index, index, i1) -> i1
        %v = arith.select %e, %one8, %z8 : i8
        memref.store %v, %sel[%b, %h, %c] : !m3b
        %in = arith.cmpi ult, %c, %nc : index
        %k = scf.if %in -> (i32) {
          %kk = memref.load %cnt[%b, %h, %c] : !m3i
          scf.yield %kk : i32
        } else {
          scf.yield %zi : i32
        }
        %k64 = arith.extsi %k : i32 to i64
        %add = arith.select %e, %k64, %z64 : i64
        %s2 = arith.addi %s, %add : i64
        scf.yield %s2 : i64
      }
      %over = arith.cmpi sgt, %total, %T : i64
      scf.if %over {
        // Threshold: the largest eligible score whose "at least this score"
        // token count exceeds the budget.
        %tstar = scf.for %c = %c0 to %nc step %c1 iter_args(%ts = %ninf) -> (f32) {
          %ev = memref.load %sel[%b, %h, %c] : !m3b
          %e = arith.cmpi ne, %ev, %z8 : i8
          %res = scf.if %e -> (f32) {
            %rc = memref.load %r[%b, %h, %c] : !m3f
            %W = scf.for %c2i = %c0 to %nc step %c1 iter_args(%w = %z64) -> (i64) {
              %ev2 = memref.load %sel[%b, %h, %c2i] : !m3b
              %e2 = arith.cmpi ne, %ev2, %z8 : i8
              %r2 = memref.load %r[%b, %h, %c2i] : !m3f
              %ge = arith.cmpf oge, %r2, %rc : f32
              %both = arith.andi %e2, %ge : i1
              %k = memref.load %cnt[%b, %h, %c2i] : !m3i
              %k64 = arith.extsi %k : i32 to i64
              %add = arith.select %both, %k64, %z64 : i64
              %w2 = arith.addi %w, %add : i64
              scf.yield %w2 : i64
            }
            %exceeds = arith.cmpi sgt, %W, %T : i64
            %mx = arith.maximumf %ts, %rc : f32
            %nts = arith.select %exceeds, %mx, %ts : f32
            scf.yield %nts : f32
          } else {
            scf.yield %ts : f32
          }
          scf.yield %res : f32
        }
        scf.for %c = %c0 to %nc step %c1 {
          %ev = memref.load %sel[%b, %h, %c] : !m3b
          %e = arith.cmpi ne, %ev, %z8 : i8
          %rc = memref.load %r[%b, %h, %c] : !m3f
          %above = arith.cmpf ogt, %rc, %tstar : f32
          %keep = arith.andi %e, %above : i1
          %v = arith.select %keep, %one8, %z8 : i8
          memref.store %v, %sel[%b, %h, %c] : !m3b
        }
      }
    }
  }
  return
}

//===----------------------------------------------------------------------===//
// Exact attention (dense and sparse) and the centroid approximation
//===----------------------------------------------------------------------===//

// One online-softmax step of the (pre-scaled) query in qs[0] against token
// j of (k, v)[b, h]; the accumulator is acc[0, :].
func.func private @__mp_attend_$T(%qs: !buf2, %k: !m4e, %v: !m4e, %b: index,
                                  %h: index, %j: index, %acc: !buf2, %m: f32,
                                  %l: f32, %D: index) -> (f32, f32) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %z = arith.constant 0.0 : f32
  %x = scf.for %d = %c0 to %D step %c1 iter_args(%s = %z) -> (f32) {
    %qd = memref.load %qs[%c0, %d] : !buf2
    %ke = memref.load %k[%b, %h, %j, %d] : !m4e
    %kf = func.call @__mp_ext_$T(%ke) : (!E) -> f32
    %p = arith.mulf %qd, %kf : f32
    %s2 = arith.addf %s, %p : f32
    scf.yield %s2 : f32
  }
  %gt = arith.cmpf ogt, %x, %m : f32
  %mn = arith.select %gt, %x, %m : f32
  %dm = arith.subf %m, %mn : f32
  %f = math.exp %dm : f32
  %p = math.exp %x : f32
  %dx = arith.subf %x, %mn : f32
  %px = math.exp %dx : f32
  %lf = arith.mulf %l, %f : f32
  %ln = arith.addf %lf, %px : f32
  scf.for %d = %c0 to %D step %c1 {
    %a = memref.load %acc[%c0, %d] : !buf2
    %ve = memref.load %v[%b, %h, %j, %d] : !m4e
    %vf = func.call @__mp_ext_$T(%ve) : (!E) -> f32
    %af = arith.mulf %a, %f : f32
    %pv = arith.mulf %px, %vf : f32
    %an = arith.addf %af, %pv : f32
    memref.store %an, %acc[%c0, %d] : !buf2
  }
  return %mn, %ln : f32, f32
}

func.func private @__mp_zero_row_$T(%acc: !buf2, %D: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %z = arith.constant 0.0 : f32
  scf.for %d = %c0 to %D step %c1 {
    memref.store %z, %acc[%c0, %d] : !buf2
  }
  return
}

func.func private @__mp_decode_attention_$T(%q: !m3e, %k: !m4e, %v: !m4e,
                                            %lens: !m1i, %out: !m3e,
                                            %scale: f32, %hasLens: i1) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %z = arith.constant 0.0 : f32
  %ninf = arith.constant 0xFF800000 : f32
  %B = memref.dim %q, %c0 : !m3e
  %Hq = memref.dim %q, %c1 : !m3e
  %D = memref.dim %q, %c2 : !m3e
  %H = memref.dim %k, %c1 : !m4e
  %N = memref.dim %k, %c2 : !m4e
  %G = arith.divui %Hq, %H : index
  %qs = memref.alloc(%c1, %D) : !buf2
  %acc = memref.alloc(%c1, %D) : !buf2
  scf.for %b = %c0 to %B step %c1 {
    %n = scf.if %hasLens -> (index) {
      %nn = func.call @__mp_len_$T(%lens, %b, %N) : (!m1i, index, index) -> index
      scf.yield %nn : index
    } else {
      scf.yield %N : index
    }
    scf.for %i = %c0 to %Hq step %c1 {
      %h = arith.divui %i, %G : index
      scf.for %d = %c0 to %D step %c1 {
        %e = memref.load %q[%b, %i, %d] : !m3e
        %f = func.call @__mp_ext_$T(%e) : (!E) -> f32
        %g = arith.mulf %f, %scale : f32
        memref.store %g, %qs[%c0, %d] : !buf2
      }
      func.call @__mp_zero_row_$T(%acc, %D) : (!buf2, index) -> ()
      %ml:2 = scf.for %j = %c0 to %n step %c1 iter_args(%m = %ninf, %l = %z) -> (f32, f32) {
        %r:2 = func.call @__mp_attend_$T(%qs, %k, %v, %b, %h, %j, %acc, %m, %l, %D)
            : (!buf2, !m4e, !m4e, index, index, index, !buf2, f32, f32, index) -> (f32, f32)
        scf.yield %r#0, %r#1 : f32, f32
      }
      %pos = arith.cmpf ogt, %ml#1, %z : f32
      scf.for %d = %c0 to %D step %c1 {
        %a = memref.load %acc[%c0, %d] : !buf2
        %o = arith.divf %a, %ml#1 : f32
        %o2 = arith.select %pos, %o, %z : f32
        %t = func.call @__mp_trunc_$T(%o2) : (f32) -> !E
        memref.store %t, %out[%b, %i, %d] : !m3e
      }
    }
  }
  memref.dealloc %qs : !buf2
  memref.dealloc %acc : !buf2
  return
}

func.func private @__mp_sparse_attention_$T(
    %q: !m3e, %k: !m4e, %v: !m4e, %lens: !m1i,
    %cent: !m4f, %vcent: !m4f, %cnt: !m3i, %off: !m3i, %mem: !m3i, %asg: !m3i,
    %st: !m3i, %sel: !m3b, %oacc: !m3f, %om: !m2f, %ol: !m2f,
    %scale: f32, %sink: i64) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %z = arith.constant 0.0 : f32
  %z8 = arith.constant 0 : i8
  %ninf = arith.constant 0xFF800000 : f32
  %B = memref.dim %q, %c0 : !m3e
  %Hq = memref.dim %q, %c1 : !m3e
  %D = memref.dim %q, %c2 : !m3e
  %H = memref.dim %k, %c1 : !m4e
  %N = memref.dim %k, %c2 : !m4e
  %G = arith.divui %Hq, %H : index
  %S = arith.index_cast %sink : i64 to index
  %qs = memref.alloc(%c1, %D) : !buf2
  %acc = memref.alloc(%c1, %D) : !buf2
  scf.for %b = %c0 to %B step %c1 {
    %n = func.call @__mp_len_$T(%lens, %b, %N) : (!m1i, index, index) -> index
    %Sn = arith.minui %S, %n : index
    scf.for %i = %c0 to %Hq step %c1 {
      %h = arith.divui %i, %G : index
      %nci = memref.load %st[%b, %h, %c0] : !m3i
      %nc = arith.index_cast %nci : i32 to index
      %lci = memref.load %st[%b, %h, %c1] : !m3i
      %lc = arith.index_cast %lci : i32 to index
      %ws0 = arith.addi %S, %lc : index
      %ws = arith.minui %ws0, %n : index
      scf.for %d = %c0 to %D step %c1 {
        %e = memref.load %q[%b, %i, %d] : !m3e
        %f = func.call @__mp_ext_$T(%e) : (!E) -> f32
        %g = arith.mulf %f, %scale : f32
        memref.store %g, %qs[%c0, %d] : !buf2
      }
      func.call @__mp_zero_row_$T(%acc, %D) : (!buf2, index) -> ()
      // Sink.
      %s1:2 = scf.for %j = %c0 to %Sn step %c1 iter_args(%m = %ninf, %l = %z) -> (f32, f32) {
        %r:2 = func.call @__mp_attend_$T(%qs, %k, %v, %b, %h, %j, %acc, %m, %l, %D)
            : (!buf2, !m4e, !m4e, index, index, index, !buf2, f32, f32, index) -> (f32, f32)
        scf.yield %r#0, %r#1 : f32, f32
      }
      // Window.
      %s2:2 = scf.for %j = %ws to %n step %c1 iter_args(%m = %s1#0, %l = %s1#1) -> (f32, f32) {
        %r:2 = func.call @__mp_attend_$T(%qs, %k, %v, %b, %h, %j, %acc, %m, %l, %D)
            : (!buf2, !m4e, !m4e, index, index, index, !buf2, f32, f32, index) -> (f32, f32)
        scf.yield %r#0, %r#1 : f32, f32
      }
      // Members of the selected clusters.
      %s3:2 = scf.for %c = %c0 to %nc step %c1 iter_args(%m = %s2#0, %l = %s2#1) -> (f32, f32) {
        %sv = memref.load %sel[%b, %h, %c] : !m3b
        %on = arith.cmpi ne, %sv, %z8 : i8
        %res:2 = scf.if %on -> (f32, f32) {
          %p0i = memref.load %off[%b, %h, %c] : !m3i
          %cp = arith.addi %c, %c1 : index
          %p1i = memref.load %off[%b, %h, %cp] : !m3i
          %p0 = arith.index_cast %p0i : i32 to index
          %p1 = arith.index_cast %p1i : i32 to index
          %rr:2 = scf.for %p = %p0 to %p1 step %c1 iter_args(%mm = %m, %ll = %l) -> (f32, f32) {
            %ji = memref.load %mem[%b, %h, %p] : !m3i
            %j = arith.index_cast %ji : i32 to index
            %ok = arith.cmpi ult, %j, %n : index
            %o:2 = scf.if %ok -> (f32, f32) {
              %r:2 = func.call @__mp_attend_$T(%qs, %k, %v, %b, %h, %j, %acc, %mm, %ll, %D)
                  : (!buf2, !m4e, !m4e, index, index, index, !buf2, f32, f32, index) -> (f32, f32)
              scf.yield %r#0, %r#1 : f32, f32
            } else {
              scf.yield %mm, %ll : f32, f32
            }
            scf.yield %o#0, %o#1 : f32, f32
          }
          scf.yield %rr#0, %rr#1 : f32, f32
        } else {
          scf.yield %m, %l : f32, f32
        }
        scf.yield %res#0, %res#1 : f32, f32
      }
      scf.for %d = %c0 to %D step %c1 {
        %a = memref.load %acc[%c0, %d] : !buf2
        memref.store %a, %oacc[%b, %i, %d] : !m3f
      }
      memref.store %s3#0, %om[%b, %i] : !m2f
      memref.store %s3#1, %ol[%b, %i] : !m2f
    }
  }
  memref.dealloc %qs : !buf2
  memref.dealloc %acc : !buf2
  return
}

func.func private @__mp_centroid_approx_$T(
    %a: !m3f, %cent: !m4f, %vcent: !m4f, %cnt: !m3i, %off: !m3i, %mem: !m3i,
    %asg: !m3i, %st: !m3i, %sel: !m3b, %pa: !m3i, %ps: !m3b,
    %oacc: !m3f, %om: !m2f, %ol: !m2f, %hasParent: i1) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c3 = arith.constant 3 : index
  %z = arith.constant 0.0 : f32
  %z8 = arith.constant 0 : i8
  %ninf = arith.constant 0xFF800000 : f32
  %B = memref.dim %a, %c0 : !m3f
  %Hq = memref.dim %a, %c1 : !m3f
  %H = memref.dim %cent, %c1 : !m4f
  %D = memref.dim %cent, %c3 : !m4f
  %G = arith.divui %Hq, %H : index
  scf.for %b = %c0 to %B step %c1 {
    scf.for %i = %c0 to %Hq step %c1 {
      %h = arith.divui %i, %G : index
      %nci = memref.load %st[%b, %h, %c0] : !m3i
      %nc = arith.index_cast %nci : i32 to index
      scf.for %d = %c0 to %D step %c1 {
        memref.store %z, %oacc[%b, %i, %d] : !m3f
      }
      %mx = scf.for %c = %c0 to %nc step %c1 iter_args(%m = %ninf) -> (f32) {
        %e = func.call @__mp_eligible_$T(%cnt, %pa, %ps, %b, %h, %c, %nc, %hasParent)
            : (!m3i, !m3i, !m3b, index, index, index, index, i1) -> i1
        %sv = memref.load %sel[%b, %h, %c] : !m3b
        %ns = arith.cmpi eq, %sv, %z8 : i8
        %take = arith.andi %e, %ns : i1
        %av = memref.load %a[%b, %i, %c] : !m3f
        %mm = arith.maximumf %m, %av : f32
        %m2 = arith.select %take, %mm, %m : f32
        scf.yield %m2 : f32
      }
      %l = scf.for %c = %c0 to %nc step %c1 iter_args(%s = %z) -> (f32) {
        %e = func.call @__mp_eligible_$T(%cnt, %pa, %ps, %b, %h, %c, %nc, %hasParent)
            : (!m3i, !m3i, !m3b, index, index, index, index, i1) -> i1
        %sv = memref.load %sel[%b, %h, %c] : !m3b
        %ns = arith.cmpi eq, %sv, %z8 : i8
        %take = arith.andi %e, %ns : i1
        %r = scf.if %take -> (f32) {
          %av = memref.load %a[%b, %i, %c] : !m3f
          %dx = arith.subf %av, %mx : f32
          %ex = math.exp %dx : f32
          %k = memref.load %cnt[%b, %h, %c] : !m3i
          %kf = arith.sitofp %k : i32 to f32
          %w = arith.mulf %kf, %ex : f32
          scf.for %d = %c0 to %D step %c1 {
            %o = memref.load %oacc[%b, %i, %d] : !m3f
            %nu = memref.load %vcent[%b, %h, %c, %d] : !m4f
            %wn = arith.mulf %w, %nu : f32
            %o2 = arith.addf %o, %wn : f32
            memref.store %o2, %oacc[%b, %i, %d] : !m3f
          }
          %s2 = arith.addf %s, %w : f32
          scf.yield %s2 : f32
        } else {
          scf.yield %s : f32
        }
        scf.yield %r : f32
      }
      memref.store %mx, %om[%b, %i] : !m2f
      memref.store %l, %ol[%b, %i] : !m2f
    }
  }
  return
}

//===----------------------------------------------------------------------===//
// multipole.merge
//===----------------------------------------------------------------------===//

// Folds partial P into the running partial R (copies it when %first).
func.func private @__mp_merge_into_$T(%racc: !m3f, %rm: !m2f, %rl: !m2f,
                                      %pacc: !m3f, %pm: !m2f, %pl: !m2f,
                                      %first: i1) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %z = arith.constant 0.0 : f32
  %B = memref.dim %racc, %c0 : !m3f
  %Hq = memref.dim %racc, %c1 : !m3f
  %D = memref.dim %racc, %c2 : !m3f
  scf.for %b = %c0 to %B step %c1 {
    scf.for %i = %c0 to %Hq step %c1 {
      %m2 = memref.load %pm[%b, %i] : !m2f
      %l2 = memref.load %pl[%b, %i] : !m2f
      scf.if %first {
        memref.store %m2, %rm[%b, %i] : !m2f
        memref.store %l2, %rl[%b, %i] : !m2f
        scf.for %d = %c0 to %D step %c1 {
          %x = memref.load %pacc[%b, %i, %d] : !m3f
          memref.store %x, %racc[%b, %i, %d] : !m3f
        }
      } else {
        %m1 = memref.load %rm[%b, %i] : !m2f
        %l1 = memref.load %rl[%b, %i] : !m2f
        %m = arith.maximumf %m1, %m2 : f32
        %ne1 = arith.cmpf ogt, %l1, %z : f32
        %ne2 = arith.cmpf ogt, %l2, %z : f32
        %d1 = arith.subf %m1, %m : f32
        %d2 = arith.subf %m2, %m : f32
        %e1 = math.exp %d1 : f32
        %e2 = math.exp %d2 : f32
        %f1 = arith.select %ne1, %e1, %z : f32
        %f2 = arith.select %ne2, %e2, %z : f32
        %a1 = arith.mulf %l1, %f1 : f32
        %a2 = arith.mulf %l2, %f2 : f32
        %l = arith.addf %a1, %a2 : f32
        memref.store %m, %rm[%b, %i] : !m2f
        memref.store %l, %rl[%b, %i] : !m2f
        scf.for %d = %c0 to %D step %c1 {
          %x1 = memref.load %racc[%b, %i, %d] : !m3f
          %x2 = memref.load %pacc[%b, %i, %d] : !m3f
          %y1 = arith.mulf %x1, %f1 : f32
          %y2 = arith.mulf %x2, %f2 : f32
          %ny1 = arith.select %ne1, %y1, %z : f32
          %ny2 = arith.select %ne2, %y2, %z : f32
          %y = arith.addf %ny1, %ny2 : f32
          memref.store %y, %racc[%b, %i, %d] : !m3f
        }
      }
    }
  }
  return
}

// out = acc / l (0 where l = 0), in the output element type.
func.func private @__mp_merge_finish_$T(%racc: !m3f, %rm: !m2f, %rl: !m2f,
                                        %out: !m3e) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %z = arith.constant 0.0 : f32
  %B = memref.dim %racc, %c0 : !m3f
  %Hq = memref.dim %racc, %c1 : !m3f
  %D = memref.dim %racc, %c2 : !m3f
  scf.for %b = %c0 to %B step %c1 {
    scf.for %i = %c0 to %Hq step %c1 {
      %l = memref.load %rl[%b, %i] : !m2f
      %pos = arith.cmpf ogt, %l, %z : f32
      scf.for %d = %c0 to %D step %c1 {
        %x = memref.load %racc[%b, %i, %d] : !m3f
        %y = arith.divf %x, %l : f32
        %y2 = arith.select %pos, %y, %z : f32
        %t = func.call @__mp_trunc_$T(%y2) : (f32) -> !E
        memref.store %t, %out[%b, %i, %d] : !m3e
      }
    }
  }
  return
}
