//===- ClusterKernels.cpp - cluster build, update and coarsening (GPU) ----===//
//
// Blocked k-means on the device, following docs/Algorithm.md rule for rule
// (evenly spaced seeds, lowest-id ties, hashed re-seeding, no re-seed in the
// last iteration), so the GPU index satisfies the same invariants as the CPU
// one. Floating-point sums run in a different order (vectorised dot products,
// fused multiply-adds), so near-ties may resolve differently; the GPU check
// compares the two indexes by agreement and by the attention they produce.
//
// cluster_build : `<name>_init` (one CTA per (sequence, KV head): resets the
//   level, writes the state) and `<name>_blocks` (one CTA per (sequence, KV
//   head, k-means block); blocks are independent). With windowed RoPE,
//   `<name>_prerope` first writes the pre-RoPE keys to an f32 scratch.
// cluster_update: one CTA per (sequence, KV head): the sequential seeding and
//   running-mean steps of the online update, then the Lloyd passes over the
//   last block with the same k-means core as the build.
// cluster_coarsen: one CTA per (sequence, KV head): weighted k-means over the
//   non-empty fine clusters.
//
// The k-means core inside a CTA: a thread per point computes its argmin over
// the block's centroids (point in registers, centroid rows broadcast from L1,
// |mu|^2 precomputed per iteration); a warp per cluster then sums its members
// in point order (lanes over dimensions, members found by warp ballots), which
// is deterministic and needs no atomics. Member lists are written the same
// way, so they are ascending within a cluster.
//
//===----------------------------------------------------------------------===//

#include "KernelGen.h"

#include "llvm/Support/raw_ostream.h"

#include <cmath>
#include <sstream>

using namespace mlir::multipole::gpugen;

namespace {
std::string str(int64_t v) { return std::to_string(v); }
std::string fstr(double v) {
  char buf[64];
  snprintf(buf, sizeof(buf), "%.17e", v);
  return buf;
}

constexpr int64_t kThreads = 256;

/// subst, twice: the composite types ($CT, $PT, ...) name other variables.
std::string expand(const std::string &text,
                   const std::map<std::string, std::string> &vars) {
  return subst(subst(text, vars), vars);
}

/// Variables shared by every cluster kernel of one op.
std::map<std::string, std::string> baseVars(const ClusterShape &s,
                                            llvm::StringRef name) {
  std::map<std::string, std::string> v = {
      {"NAME", name.str()},  {"B", str(s.B)},       {"H", str(s.H)},
      {"N", str(s.N)},       {"D", str(s.D)},       {"C", str(s.C)},
      {"C1", str(s.C + 1)},  {"M", str(s.M)},       {"E", s.elt},
      {"T", str(kThreads)},  {"NW", str(kThreads / 32)},
      {"VPL", str(s.D / 32)}, {"D4", str(s.D / 4)}, {"CD4", str(s.C * s.D / 4)}};
  v["CT"] = "memref<$Bx$Hx$Cx$Dxf32>";
  v["CNT"] = "memref<$Bx$Hx$Cxi32>";
  v["OFT"] = "memref<$Bx$Hx$C1xi32>";
  v["AT"] = "memref<$Bx$Hx$Mxi32>";
  v["STT"] = "memref<$Bx$Hx4xi32>";
  v["KT"] = "memref<$Bx$Hx$Nx$Dx$E>";
  v["NT"] = "memref<$Bx$Hx$Cxf32>";
  return v;
}

/// Elements [d, d + 4) of a vector<D x f32> (a shufflevector: the NVVM
/// pipeline has no lowering for vector.extract_strided_slice).
std::string slice4(const std::string &x, int64_t d) {
  return "vector.shuffle " + x + ", " + x + " [" + str(d) + ", " + str(d + 1) +
         ", " + str(d + 2) + ", " + str(d + 3) +
         "] : vector<$Dxf32>, vector<$Dxf32>\n";
}

/// Constants and thread coordinates every kernel starts with.
std::string prelude(int64_t D) {
  std::ostringstream o;
  o << R"(  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c3 = arith.constant 3 : index
  %c32 = arith.constant 32 : index
  %cT = arith.constant $T : index
  %cNW = arith.constant $NW : index
  %cVPL = arith.constant $VPL : index
  %c7919 = arith.constant 7919 : index
  %c104729 = arith.constant 104729 : index
  %c0i = arith.constant 0 : i32
  %c1i = arith.constant 1 : i32
  %cm1i = arith.constant -1 : i32
  %full = arith.constant -1 : i32
  %zf = arith.constant 0.0 : f32
  %onef = arith.constant 1.0 : f32
  %inff = arith.constant 0x7F800000 : f32
  %true = arith.constant true
  %false = arith.constant false
  %zv4 = arith.constant dense<0.0> : vector<4xf32>
  %zvl = arith.constant dense<0.0> : vector<$VPLxf32>
  %tid = gpu.thread_id x
  %lane = arith.remui %tid, %c32 : index
  %warp = arith.divui %tid, %c32 : index
  %dlane = arith.muli %lane, %cVPL : index
  %lanei = arith.index_cast %lane : index to i32
  %lbit = arith.shli %c1i, %lanei : i32
  %lmask = arith.subi %lbit, %c1i : i32
  %is0 = arith.cmpi eq, %tid, %c0 : index
  %lane0 = arith.cmpi eq, %lane, %c0 : index
)";
  for (int64_t d = 0; d < D; d += 4)
    o << "  %cd" << d << " = arith.constant " << d << " : index\n";
  return o.str();
}

/// Where the points of a k-means come from.
struct PointSpec {
  std::string P, PT, PE; // memref, its type, its element type
  bool indirect = false; // row = %ids[b, h, t] (coarsening), else pstart + t
  std::string ids, idsT; // with indirect
  bool weighted = false; // weight = (f32) W[b, h, row], else 1
  std::string W, WT;
  std::string pstart; // direct: first row
};

std::string rowIdx(const PointSpec &p, const std::string &dst,
                   const std::string &t) {
  if (!p.indirect)
    return "  %" + dst + " = arith.addi " + p.pstart + ", %" + t + " : index\n";
  return "  %" + dst + "_i = memref.load " + p.ids + "[%b, %h, %" + t +
         "] : " + p.idsT + "\n  %" + dst + " = arith.index_cast %" + dst +
         "_i : i32 to index\n";
}

std::string weightOf(const PointSpec &p, const std::string &dst,
                     const std::string &j) {
  if (!p.weighted)
    return "  %" + dst + " = arith.constant 1.0 : f32\n";
  return "  %" + dst + "_i = memref.load " + p.W + "[%b, %h, %" + j + "] : " +
         p.WT + "\n  %" + dst + " = arith.sitofp %" + dst +
         "_i : i32 to f32\n";
}

/// `%dst`: vector<n x f32> of row `j` of P from dimension `d0`.
std::string loadRow(const std::string &P, const std::string &PT,
                    const std::string &PE, const std::string &dst,
                    const std::string &j, const std::string &d0, int64_t n) {
  int64_t bytes = n * (PE == "f32" ? 4 : 2);
  int64_t align = std::min<int64_t>(16, bytes);
  std::string vt = "vector<" + str(n) + "x" + PE + ">";
  std::string fv = "vector<" + str(n) + "xf32>";
  std::string r = "  %" + dst + (PE == "f32" ? "" : "_r") + " = vector.load " +
                  P + "[%b, %h, %" + j + ", " + d0 + "] {alignment = " +
                  str(align) + "} : " + PT + ", " + vt + "\n";
  if (PE != "f32")
    r += "  %" + dst + " = arith.extf %" + dst + "_r : " + vt + " to " + fv + "\n";
  return r;
}

/// Writes one cluster row (vector<VPL x f32> per lane) of the centroids.
std::string storeSlice(const std::string &val, const std::string &arr,
                       const std::string &gc) {
  return "  vector.store %" + val + ", " + arr + "[%b, %h, %" + gc +
         ", %dlane] : $CT, vector<$VPLxf32>\n";
}

/// Lloyd iterations of one CTA over points t < L and clusters [cs, cs + Cb)
/// of %cent (docs/Algorithm.md, "k-means on a block"). Writes %asg at each
/// point's row (cs + local id), %cnt (fptosi of the weight sums) and %cent.
/// Uses %norms as scratch. Ends with a barrier.
std::string kmeansCore(const PointSpec &p, const std::string &L,
                       const std::string &cs, const std::string &Cb,
                       const std::string &iters, bool init, int64_t D) {
  std::ostringstream o;
  if (init) {
    o << "  scf.for %km_ic = %tid to " << Cb << " step %cT {\n"
      << "  %km_icl = arith.muli %km_ic, " << L << " : index\n"
      << "  %km_it0 = arith.divui %km_icl, " << Cb << " : index\n"
      << rowIdx(p, "km_ij", "km_it0")
      << loadRow(p.P, p.PT, p.PE, "km_ix", "km_ij", "%c0", D)
      << "  %km_igc = arith.addi " << cs << ", %km_ic : index\n"
      << "  vector.store %km_ix, %cent[%b, %h, %km_igc, %c0] : $CT, vector<$Dxf32>\n"
      << "  }\n  gpu.barrier\n";
  }
  o << "  %km_last = arith.subi " << iters << ", %c1 : index\n"
    << "  scf.for %km_it = %c0 to " << iters << " step %c1 {\n"
    // |mu|^2 of every cluster of the block.
    << "  scf.for %km_nc = %tid to " << Cb << " step %cT {\n"
    << "  %km_ngc = arith.addi " << cs << ", %km_nc : index\n"
    << "  %km_mu = vector.load %cent[%b, %h, %km_ngc, %c0] {alignment = 16} : $CT, vector<$Dxf32>\n"
    << "  %km_sq = arith.mulf %km_mu, %km_mu : vector<$Dxf32>\n"
    << "  %km_nrm = vector.reduction <add>, %km_sq : vector<$Dxf32> into f32\n"
    << "  memref.store %km_nrm, %norms[%b, %h, %km_ngc] : $NT\n"
    << "  }\n  gpu.barrier\n"
    // Assignment: a thread per point.
    << "  scf.for %km_t = %tid to " << L << " step %cT {\n"
    << rowIdx(p, "km_j", "km_t")
    << loadRow(p.P, p.PT, p.PE, "km_x", "km_j", "%c0", D);
  for (int64_t d = 0; d < D; d += 4)
    o << "  %km_x" << d << " = " << slice4("%km_x", d);
  o << "  %km_best:2 = scf.for %km_c = %c0 to " << Cb
    << " step %c1 iter_args(%km_bi = %c0, %km_bd = %inff) -> (index, f32) {\n"
    << "  %km_gc = arith.addi " << cs << ", %km_c : index\n";
  std::string acc = "%zv4";
  for (int64_t d = 0; d < D; d += 4) {
    o << "  %km_m" << d << " = vector.load %cent[%b, %h, %km_gc, %cd" << d
      << "] {alignment = 16} : $CT, vector<4xf32>\n"
      << "  %km_a" << d << " = vector.fma %km_x" << d << ", %km_m" << d << ", "
      << acc << " : vector<4xf32>\n";
    acc = "%km_a" + str(d);
  }
  o << "  %km_dot = vector.reduction <add>, " << acc << " : vector<4xf32> into f32\n"
    << "  %km_nm = memref.load %norms[%b, %h, %km_gc] : $NT\n"
    << "  %km_t2 = arith.addf %km_dot, %km_dot : f32\n"
    << "  %km_dist = arith.subf %km_nm, %km_t2 : f32\n"
    << "  %km_lt = arith.cmpf olt, %km_dist, %km_bd : f32\n"
    << "  %km_nb = arith.select %km_lt, %km_c, %km_bi : index\n"
    << "  %km_nd = arith.select %km_lt, %km_dist, %km_bd : f32\n"
    << "  scf.yield %km_nb, %km_nd : index, f32\n"
    << "  }\n"
    << "  %km_ga = arith.addi " << cs << ", %km_best#0 : index\n"
    << "  %km_gai = arith.index_cast %km_ga : index to i32\n"
    << "  memref.store %km_gai, %asg[%b, %h, %km_j] : $AT\n"
    << "  }\n  gpu.barrier\n"
    // Update: a warp per cluster sums its members in point order.
    << "  %km_islast = arith.cmpi eq, %km_it, %km_last : index\n"
    << "  scf.for %km_uc = %warp to " << Cb << " step %cNW {\n"
    << "  %km_ugc = arith.addi " << cs << ", %km_uc : index\n"
    << "  %km_ugci = arith.index_cast %km_ugc : index to i32\n"
    << "  %km_acc:2 = scf.for %km_t0 = %c0 to " << L
    << " step %c32 iter_args(%km_s = %zvl, %km_w = %zf) -> (vector<$VPLxf32>, f32) {\n"
    << "  %km_ut = arith.addi %km_t0, %lane : index\n"
    << "  %km_in = arith.cmpi ult, %km_ut, " << L << " : index\n"
    << "  %km_tc = arith.select %km_in, %km_ut, %c0 : index\n"
    << rowIdx(p, "km_uj", "km_tc")
    << "  %km_ua = memref.load %asg[%b, %h, %km_uj] : $AT\n"
    << "  %km_eq = arith.cmpi eq, %km_ua, %km_ugci : i32\n"
    << "  %km_p = arith.andi %km_in, %km_eq : i1\n"
    << "  %km_mask = nvvm.vote.sync ballot %full, %km_p -> i32\n"
    << "  %km_r:3 = scf.while (%km_mm = %km_mask, %km_s1 = %km_s, %km_w1 = %km_w)"
       " : (i32, vector<$VPLxf32>, f32) -> (i32, vector<$VPLxf32>, f32) {\n"
    << "  %km_nz = arith.cmpi ne, %km_mm, %c0i : i32\n"
    << "  scf.condition(%km_nz) %km_mm, %km_s1, %km_w1 : i32, vector<$VPLxf32>, f32\n"
    << "  } do {\n"
    << "  ^bb0(%km_mm2: i32, %km_s2: vector<$VPLxf32>, %km_w2: f32):\n"
    << "  %km_bit = math.cttz %km_mm2 : i32\n"
    << "  %km_bitx = arith.index_cast %km_bit : i32 to index\n"
    << "  %km_tt = arith.addi %km_t0, %km_bitx : index\n"
    << rowIdx(p, "km_jj", "km_tt") << weightOf(p, "km_wt", "km_jj")
    << loadRow(p.P, p.PT, p.PE, "km_xv", "km_jj", "%dlane", D / 32)
    << "  %km_wv = vector.broadcast %km_wt : f32 to vector<$VPLxf32>\n"
    << "  %km_s3 = vector.fma %km_wv, %km_xv, %km_s2 : vector<$VPLxf32>\n"
    << "  %km_w3 = arith.addf %km_w2, %km_wt : f32\n"
    << "  %km_mm3 = arith.subi %km_mm2, %c1i : i32\n"
    << "  %km_mm4 = arith.andi %km_mm2, %km_mm3 : i32\n"
    << "  scf.yield %km_mm4, %km_s3, %km_w3 : i32, vector<$VPLxf32>, f32\n"
    << "  }\n"
    << "  scf.yield %km_r#1, %km_r#2 : vector<$VPLxf32>, f32\n"
    << "  }\n"
    << "  %km_ne = arith.cmpf ogt, %km_acc#1, %zf : f32\n"
    << "  scf.if %km_ne {\n"
    << "  %km_wb = vector.broadcast %km_acc#1 : f32 to vector<$VPLxf32>\n"
    << "  %km_mean = arith.divf %km_acc#0, %km_wb : vector<$VPLxf32>\n"
    << storeSlice("km_mean", "%cent", "km_ugc")
    << "  scf.if %lane0 {\n"
    << "  %km_wi = arith.fptosi %km_acc#1 : f32 to i32\n"
    << "  memref.store %km_wi, %cnt[%b, %h, %km_ugc] : $CNT\n"
    << "  }\n"
    << "  } else {\n"
    << "  scf.if %lane0 {\n"
    << "  memref.store %c0i, %cnt[%b, %h, %km_ugc] : $CNT\n"
    << "  }\n"
    << "  scf.if %km_islast {\n"
    << storeSlice("zvl", "%cent", "km_ugc")
    << "  } else {\n"
    // Re-seed an empty cluster from the data.
    << "  %km_p1 = arith.muli %km_uc, %c7919 : index\n"
    << "  %km_p2 = arith.muli %km_it, %c104729 : index\n"
    << "  %km_p3 = arith.addi %km_p1, %km_p2 : index\n"
    << "  %km_rt = arith.remui %km_p3, " << L << " : index\n"
    << rowIdx(p, "km_rj", "km_rt")
    << loadRow(p.P, p.PT, p.PE, "km_rx", "km_rj", "%dlane", D / 32)
    << storeSlice("km_rx", "%cent", "km_ugc")
    << "  }\n"
    << "  }\n"
    << "  }\n  gpu.barrier\n"
    << "  }\n";
  return o.str();
}

/// Value centroids and member lists of clusters [fc0, fc1) whose members are
/// the rows [ft0, ft1) with %asg equal to the cluster id (a warp per cluster,
/// rows in order). %off[c] (c in [fc0, fc1)) must hold the first member slot.
/// `val` gives the value rows (P, type, element type) and their weights.
std::string finishClusters(const PointSpec &val, const std::string &fc0,
                           const std::string &fc1, const std::string &ft0,
                           const std::string &ft1, const std::string &divCount,
                           int64_t D) {
  std::ostringstream o;
  o << "  %fn_lo = arith.addi " << fc0 << ", %warp : index\n"
    << "  scf.for %fn_c = %fn_lo to " << fc1 << " step %cNW {\n"
    << "  %fn_ci = arith.index_cast %fn_c : index to i32\n"
    << "  %fn_o = memref.load %off[%b, %h, %fn_c] : $OFT\n"
    << "  %fn_acc:3 = scf.for %fn_t0 = " << ft0 << " to " << ft1
    << " step %c32 iter_args(%fn_s = %zvl, %fn_w = %zf, %fn_pos = %fn_o) -> (vector<$VPLxf32>, f32, i32) {\n"
    << "  %fn_t = arith.addi %fn_t0, %lane : index\n"
    << "  %fn_in = arith.cmpi ult, %fn_t, " << ft1 << " : index\n"
    << "  %fn_tc = arith.select %fn_in, %fn_t, " << ft0 << " : index\n"
    << "  %fn_a = memref.load %asg[%b, %h, %fn_tc] : $AT\n"
    << "  %fn_eq = arith.cmpi eq, %fn_a, %fn_ci : i32\n"
    << "  %fn_p = arith.andi %fn_in, %fn_eq : i1\n"
    << "  %fn_mask = nvvm.vote.sync ballot %full, %fn_p -> i32\n"
    << "  %fn_below = arith.andi %fn_mask, %lmask : i32\n"
    << "  %fn_rank = math.ctpop %fn_below : i32\n"
    << "  scf.if %fn_p {\n"
    << "  %fn_slot = arith.addi %fn_pos, %fn_rank : i32\n"
    << "  %fn_slotx = arith.index_cast %fn_slot : i32 to index\n"
    << "  %fn_ti = arith.index_cast %fn_t : index to i32\n"
    << "  memref.store %fn_ti, %mem[%b, %h, %fn_slotx] : $AT\n"
    << "  }\n"
    << "  %fn_cntw = math.ctpop %fn_mask : i32\n"
    << "  %fn_pos2 = arith.addi %fn_pos, %fn_cntw : i32\n"
    << "  %fn_r:3 = scf.while (%fn_mm = %fn_mask, %fn_s1 = %fn_s, %fn_w1 = %fn_w)"
       " : (i32, vector<$VPLxf32>, f32) -> (i32, vector<$VPLxf32>, f32) {\n"
    << "  %fn_nz = arith.cmpi ne, %fn_mm, %c0i : i32\n"
    << "  scf.condition(%fn_nz) %fn_mm, %fn_s1, %fn_w1 : i32, vector<$VPLxf32>, f32\n"
    << "  } do {\n"
    << "  ^bb0(%fn_mm2: i32, %fn_s2: vector<$VPLxf32>, %fn_w2: f32):\n"
    << "  %fn_bit = math.cttz %fn_mm2 : i32\n"
    << "  %fn_bitx = arith.index_cast %fn_bit : i32 to index\n"
    << "  %fn_jj = arith.addi %fn_t0, %fn_bitx : index\n"
    << weightOf(val, "fn_wt", "fn_jj")
    << loadRow(val.P, val.PT, val.PE, "fn_xv", "fn_jj", "%dlane", D / 32)
    << "  %fn_wv = vector.broadcast %fn_wt : f32 to vector<$VPLxf32>\n"
    << "  %fn_s3 = vector.fma %fn_wv, %fn_xv, %fn_s2 : vector<$VPLxf32>\n"
    << "  %fn_w3 = arith.addf %fn_w2, %fn_wt : f32\n"
    << "  %fn_mm3 = arith.subi %fn_mm2, %c1i : i32\n"
    << "  %fn_mm4 = arith.andi %fn_mm2, %fn_mm3 : i32\n"
    << "  scf.yield %fn_mm4, %fn_s3, %fn_w3 : i32, vector<$VPLxf32>, f32\n"
    << "  }\n"
    << "  scf.yield %fn_r#1, %fn_r#2, %fn_pos2 : vector<$VPLxf32>, f32, i32\n"
    << "  }\n";
  // Divide by the token count (level 0: number of members; coarse: the
  // cluster's token count from %cnt).
  if (divCount == "members")
    o << "  %fn_n = arith.subi %fn_acc#2, %fn_o : i32\n";
  else
    o << "  %fn_n = memref.load %cnt[%b, %h, %fn_c] : $CNT\n";
  o << "  %fn_pos_ = arith.cmpi sgt, %fn_n, %c0i : i32\n"
    << "  %fn_nf = arith.sitofp %fn_n : i32 to f32\n"
    << "  %fn_one = arith.select %fn_pos_, %fn_nf, %onef : f32\n"
    << "  %fn_nb = vector.broadcast %fn_one : f32 to vector<$VPLxf32>\n"
    << "  %fn_mean = arith.divf %fn_acc#0, %fn_nb : vector<$VPLxf32>\n"
    << storeSlice("fn_mean", "%vcent", "fn_c")
    << "  }\n";
  return o.str();
}

/// Resets the (b, h) slice of a level (threads strided): centroids and counts
/// 0, offsets `off`, members and assignments -1.
std::string resetLevelText(const std::string &off) {
  return R"(  scf.for %p = %tid to %cCD4 step %cT {
    %pc = arith.divui %p, %cD4 : index
    %pr = arith.remui %p, %cD4 : index
    %pd = arith.muli %pr, %c4x : index
    vector.store %zv4, %cent[%b, %h, %pc, %pd] : $CT, vector<4xf32>
    vector.store %zv4, %vcent[%b, %h, %pc, %pd] : $CT, vector<4xf32>
  }
  scf.for %p = %tid to %cC step %cT {
    memref.store %c0i, %cnt[%b, %h, %p] : $CNT
  }
  scf.for %p = %tid to %cC1 step %cT {
    memref.store )" + off + R"(, %off[%b, %h, %p] : $OFT
  }
  scf.for %p = %tid to %cM step %cT {
    memref.store %cm1i, %mem[%b, %h, %p] : $AT
    memref.store %cm1i, %asg[%b, %h, %p] : $AT
  }
)";
}

/// Level-0 block layout of sequence %b (docs/Algorithm.md "Build"): defines
/// %n, %Lc, %nb, %rem, %bigrem, %nbz, %nblk.
std::string layoutText() {
  return R"(  %ly_li = memref.load %lens[%b] : memref<$Bxi32>
  %ly_l0 = arith.index_cast %ly_li : i32 to index
  %ly_l1 = arith.maxsi %ly_l0, %c0 : index
  %n = arith.minui %ly_l1, %cN : index
  %ly_si = arith.addi %cS, %cI : index
  %ly_si2 = arith.addi %ly_si, %cI : index
  %ly_ok = arith.cmpi uge, %n, %ly_si2 : index
  %ly_ns = arith.select %ly_ok, %n, %ly_si2 : index
  %ly_x = arith.subi %ly_ns, %ly_si : index
  %ly_q = arith.divui %ly_x, %cI : index
  %ly_lc = arith.muli %ly_q, %cI : index
  %Lc = arith.select %ly_ok, %ly_lc, %c0 : index
  %nb = arith.divui %Lc, %cBS : index
  %ly_nbBS = arith.muli %nb, %cBS : index
  %rem = arith.subi %Lc, %ly_nbBS : index
  %ly_isz = arith.cmpi eq, %Lc, %c0 : index
  %nbz = arith.cmpi eq, %nb, %c0 : index
  %bigrem = arith.cmpi uge, %rem, %cHBS : index
  %ly_nbp1 = arith.addi %nb, %c1 : index
  %ly_n0 = arith.select %bigrem, %ly_nbp1, %nb : index
  %ly_n1 = arith.select %nbz, %c1, %ly_n0 : index
  %nblk = arith.select %ly_isz, %c0, %ly_n1 : index
)";
}

/// `%L<sfx>` and `%Cb<sfx>`: length and cluster count of block `i`.
std::string blockLenText(const std::string &sfx, const std::string &i) {
  std::map<std::string, std::string> v = {{"X", sfx}, {"I", i}};
  return subst(R"(  %bl_i1$X = arith.addi $I, %c1 : index
  %bl_ltnb$X = arith.cmpi ult, $I, %nb : index
  %bl_ltnbm1$X = arith.cmpi ult, %bl_i1$X, %nb : index
  %bl_bsrem$X = arith.addi %cBS, %rem : index
  %bl_big$X = arith.select %bl_ltnb$X, %cBS, %rem : index
  %bl_small$X = arith.select %bl_ltnbm1$X, %cBS, %bl_bsrem$X : index
  %bl_01$X = arith.select %bigrem, %bl_big$X, %bl_small$X : index
  %L$X = arith.select %nbz, %Lc, %bl_01$X : index
)",
               v) +
         clustersText("Cb" + sfx, "%L" + sfx);
}
} // namespace

/// `%<dst>` = max(1, floor(f * L)) (f is `%cFRAC`, f64).
std::string mlir::multipole::gpugen::clustersText(const std::string &dst,
                                                  const std::string &L) {
  std::map<std::string, std::string> v = {{"X", dst}, {"L", L}};
  return subst(R"(  %$X_li = arith.index_cast $L : index to i64
  %$X_lf = arith.sitofp %$X_li : i64 to f64
  %$X_p = arith.mulf %$X_lf, %cFRAC : f64
  %$X_fl = math.floor %$X_p : f64
  %$X_ci = arith.fptosi %$X_fl : f64 to i64
  %$X_c = arith.index_cast %$X_ci : i64 to index
  %$X = arith.maxui %$X_c, %c1 : index
)",
               v);
}

static std::string configConsts(const ClusterConfig &c) {
  std::ostringstream o;
  o << "  %cN = arith.constant $N : index\n"
    << "  %cC = arith.constant $C : index\n"
    << "  %cS = arith.constant " << c.sink << " : index\n"
    << "  %cI = arith.constant " << c.interval << " : index\n"
    << "  %cBS = arith.constant " << c.blockSize << " : index\n"
    << "  %cHBS = arith.constant " << c.blockSize / 2 << " : index\n"
    << "  %cKX = arith.constant " << c.kExtra << " : index\n"
    << "  %cFRAC = arith.constant " << fstr(c.fraction) << " : f64\n";
  return o.str();
}

std::string mlir::multipole::gpugen::preropeKernel(llvm::StringRef name,
                                                   const ClusterShape &s,
                                                   double theta) {
  auto vars = baseVars(s, name);
  vars["LNTH"] = fstr(std::log(theta));
  vars["HD"] = str(s.D / 2);
  vars["TPC"] = str(16 * (s.D / 2));
  std::string t = R"(gpu.func @$NAME(%k: $KT, %P: memref<$Bx$Hx$Nx$Dxf32>)
    kernel attributes {known_block_size = array<i32: $T, 1, 1>} {
  %c0 = arith.constant 0 : index
  %c16 = arith.constant 16 : index
  %cT = arith.constant $T : index
  %cHD = arith.constant $HD : index
  %cN = arith.constant $N : index
  %cTPC = arith.constant $TPC : index
  %lnth = arith.constant $LNTH : f64
  %m2 = arith.constant -2.0 : f64
  %Df = arith.constant $D.0 : f64
  %tid = gpu.thread_id x
  %x = gpu.block_id x
  %h = gpu.block_id y
  %b = gpu.block_id z
  %j0 = arith.muli %x, %c16 : index
  scf.for %p = %tid to %cTPC step %cT {
    %dt = arith.divui %p, %cHD : index
    %i = arith.remui %p, %cHD : index
    %j = arith.addi %j0, %dt : index
    %ok = arith.cmpi ult, %j, %cN : index
    scf.if %ok {
      %i2 = arith.addi %i, %cHD : index
      %ii = arith.index_cast %i : index to i64
      %if = arith.sitofp %ii : i64 to f64
      %e0 = arith.mulf %m2, %if : f64
      %e1 = arith.divf %e0, %Df : f64
      %e2 = arith.mulf %e1, %lnth : f64
      %w = math.exp %e2 : f64
      %ji = arith.index_cast %j : index to i64
      %jf = arith.sitofp %ji : i64 to f64
      %pos = arith.negf %jf : f64
      %ang = arith.mulf %pos, %w : f64
      %cs = math.cos %ang : f64
      %sn = math.sin %ang : f64
)";
  if (s.elt == "f32")
    t += R"(      %x1f = memref.load %k[%b, %h, %j, %i] : $KT
      %x2f = memref.load %k[%b, %h, %j, %i2] : $KT
)";
  else
    t += R"(      %x1e = memref.load %k[%b, %h, %j, %i] : $KT
      %x2e = memref.load %k[%b, %h, %j, %i2] : $KT
      %x1f = arith.extf %x1e : $E to f32
      %x2f = arith.extf %x2e : $E to f32
)";
  t += R"(      %x1 = arith.extf %x1f : f32 to f64
      %x2 = arith.extf %x2f : f32 to f64
      %ya = arith.mulf %x1, %cs : f64
      %yb = arith.mulf %x2, %sn : f64
      %y1 = arith.subf %ya, %yb : f64
      %yc = arith.mulf %x2, %cs : f64
      %yd = arith.mulf %x1, %sn : f64
      %y2 = arith.addf %yc, %yd : f64
      %y1f = arith.truncf %y1 : f64 to f32
      %y2f = arith.truncf %y2 : f64 to f32
      memref.store %y1f, %P[%b, %h, %j, %i] : memref<$Bx$Hx$Nx$Dxf32>
      memref.store %y2f, %P[%b, %h, %j, %i2] : memref<$Bx$Hx$Nx$Dxf32>
    }
  }
  gpu.return
}
)";
  return expand(t, vars);
}

std::string mlir::multipole::gpugen::clusterBuildKernels(
    llvm::StringRef name, const ClusterShape &s, const ClusterConfig &c,
    const std::string &PE) {
  auto vars = baseVars(s, name);
  vars["PT"] = "memref<$Bx$Hx$Nx$Dx" + PE + ">";
  vars["ITERS"] = str(c.buildIters);
  std::ostringstream t;
  // Reset and state: one CTA per (sequence, KV head).
  t << R"(gpu.func @$NAME_init(%lens: memref<$Bxi32>, %cent: $CT, %vcent: $CT,
    %cnt: $CNT, %off: $OFT, %mem: $AT, %asg: $AT, %st: $STT)
    kernel attributes {known_block_size = array<i32: $T, 1, 1>} {
)" << prelude(0)
    << configConsts(c) << R"(  %cD4 = arith.constant $D4 : index
  %cCD4 = arith.constant $CD4 : index
  %cC1 = arith.constant $C1 : index
  %cM = arith.constant $M : index
  %h = gpu.block_id x
  %b = gpu.block_id y
)" << layoutText()
    << R"(  %tot:4 = scf.for %i = %c0 to %nblk step %c1 iter_args(%a_cs = %c0, %a_st = %cS, %a_ls = %cS, %a_lcs = %c0) -> (index, index, index, index) {
)" << blockLenText("", "%i")
    << R"(  %n_cs = arith.addi %a_cs, %Cb : index
  %n_st = arith.addi %a_st, %L : index
  scf.yield %n_cs, %n_st, %a_st, %a_cs : index, index, index, index
  }
  %c4x = arith.constant 4 : index
  %Lci = arith.index_cast %Lc : index to i32
)" << resetLevelText("%Lci") << R"(  scf.if %is0 {
    %nci = arith.index_cast %tot#0 : index to i32
    %lsi = arith.index_cast %tot#2 : index to i32
    memref.store %nci, %st[%b, %h, %c0] : $STT
    memref.store %Lci, %st[%b, %h, %c1] : $STT
    memref.store %lsi, %st[%b, %h, %c2] : $STT
    %lcsi = arith.index_cast %tot#3 : index to i32
    memref.store %lcsi, %st[%b, %h, %c3] : $STT
  }
  gpu.return
}
)";
  std::string init = t.str();
  // Blocks: one CTA per (block, KV head, sequence).
  PointSpec pts{"%P", "$PT", PE, false, "", "", false, "", "", "%pstart"};
  PointSpec vals{"%v", "$KT", s.elt, false, "", "", false, "", "", "%c0"};
  std::ostringstream k;
  k << R"(gpu.func @$NAME_blocks(%lens: memref<$Bxi32>, %P: $PT, %v: $KT,
    %cent: $CT, %vcent: $CT, %cnt: $CNT, %off: $OFT, %mem: $AT, %asg: $AT,
    %norms: $NT) kernel attributes {known_block_size = array<i32: $T, 1, 1>} {
)" << prelude(s.D)
    << configConsts(c) << R"(  %iters = arith.constant $ITERS : index
  %blk = gpu.block_id x
  %h = gpu.block_id y
  %b = gpu.block_id z
)" << layoutText()
    << R"(  %act = arith.cmpi ult, %blk, %nblk : index
  scf.if %act {
  %pos:2 = scf.for %i = %c0 to %blk step %c1 iter_args(%a_cs = %c0, %a_st = %cS) -> (index, index) {
)" << blockLenText("p", "%i")
    << R"(  %n_cs = arith.addi %a_cs, %Cbp : index
  %n_st = arith.addi %a_st, %Lp : index
  scf.yield %n_cs, %n_st : index, index
  }
)" << blockLenText("", "%blk")
    << R"(  %cs = arith.addi %pos#0, %c0 : index
  %pstart = arith.addi %pos#1, %c0 : index
)" << kmeansCore(pts, "%L", "%cs", "%Cb", "%iters", true, s.D)
    // Member slots: tokens of earlier blocks all precede (every token of a
    // block belongs to one of its clusters); a serial prefix over the block.
    << R"(  scf.if %is0 {
    %base = arith.subi %pstart, %cS : index
    %basei = arith.index_cast %base : index to i32
    %cend = arith.addi %cs, %Cb : index
    %fe = scf.for %c = %cs to %cend step %c1 iter_args(%acc = %basei) -> (i32) {
      memref.store %acc, %off[%b, %h, %c] : $OFT
      %nc_ = memref.load %cnt[%b, %h, %c] : $CNT
      %acc2 = arith.addi %acc, %nc_ : i32
      scf.yield %acc2 : i32
    }
  }
  gpu.barrier
  %fc1 = arith.addi %cs, %Cb : index
  %ft1 = arith.addi %pstart, %L : index
)" << finishClusters(vals, "%cs", "%fc1", "%pstart", "%ft1", "members", s.D)
    << R"(  }
  gpu.return
}
)";
  std::string text = init + k.str();
  return expand(text, vars);
}

std::string mlir::multipole::gpugen::clusterUpdateKernel(
    llvm::StringRef name, const ClusterShape &s, const ClusterConfig &c,
    const std::string &PE) {
  auto vars = baseVars(s, name);
  vars["PT"] = "memref<$Bx$Hx$Nx$Dx" + PE + ">";
  vars["ITERS"] = str(c.updateIters);
  vars["LIM"] = str(c.blockSize + c.blockSize / 2);
  vars["I2"] = str(2 * c.interval);
  PointSpec pts{"%P", "$PT", PE, false, "", "", false, "", "", "%nbst"};
  PointSpec vals{"%v", "$KT", s.elt, false, "", "", false, "", "", "%c0"};
  std::ostringstream t;
  t << R"(gpu.func @$NAME(%lens: memref<$Bxi32>, %P: $PT, %v: $KT,
    %cent: $CT, %vcent: $CT, %cnt: $CNT, %off: $OFT, %mem: $AT, %asg: $AT,
    %st: $STT, %norms: $NT)
    workgroup(%rd: memref<$Txf32, #gpu.address_space<workgroup>>,
              %ri: memref<$Txi32, #gpu.address_space<workgroup>>)
    kernel attributes {known_block_size = array<i32: $T, 1, 1>} {
)" << prelude(s.D)
    << configConsts(c) << R"(  %iters = arith.constant $ITERS : index
  %cLIM = arith.constant $LIM : index
  %c2I = arith.constant $I2 : index
  %cDD = arith.constant $D : index
  %cC1 = arith.constant $C1 : index
  %h = gpu.block_id x
  %b = gpu.block_id y
  %ly_li = memref.load %lens[%b] : memref<$Bxi32>
  %ly_l0 = arith.index_cast %ly_li : i32 to index
  %ly_l1 = arith.maxsi %ly_l0, %c0 : index
  %n = arith.minui %ly_l1, %cN : index
  %nc0i = memref.load %st[%b, %h, %c0] : $STT
  %lc0i = memref.load %st[%b, %h, %c1] : $STT
  %bs0i = memref.load %st[%b, %h, %c2] : $STT
  %bc0i = memref.load %st[%b, %h, %c3] : $STT
  %nc0 = arith.index_cast %nc0i : i32 to index
  %lc0 = arith.index_cast %lc0i : i32 to index
  %bs0 = arith.index_cast %bs0i : i32 to index
  %bc0 = arith.index_cast %bc0i : i32 to index
  %r:5 = scf.while (%wnc = %nc0, %wlc = %lc0, %wbst = %bs0, %wbcs = %bc0, %wch = %false)
      : (index, index, index, index, i1) -> (index, index, index, index, i1) {
    %w_slc = arith.addi %cS, %wlc : index
    %w_need = arith.addi %w_slc, %c2I : index
    %w_more = arith.cmpi uge, %n, %w_need : index
    %w_ncx = arith.addi %wnc, %cKX : index
    %w_room = arith.cmpi ule, %w_ncx, %cC : index
    %w_go = arith.andi %w_more, %w_room : i1
    scf.condition(%w_go) %wnc, %wlc, %wbst, %wbcs, %wch : index, index, index, index, i1
  } do {
  ^bb0(%nc: index, %lc: index, %bst: index, %bcs: index, %ch: i1):
    %t0 = arith.addi %cS, %lc : index
    %first = arith.cmpi eq, %lc, %c0 : index
    %grow0 = arith.addi %t0, %cI : index
    %grow = arith.subi %grow0, %bst : index
    %newblk = arith.cmpi ugt, %grow, %cLIM : index
    %bstA = arith.select %newblk, %t0, %bst : index
    %bcsA = arith.select %newblk, %nc, %bcs : index
    %nbst = arith.select %first, %cS, %bstA : index
    %nbcs = arith.select %first, %c0, %bcsA : index
    scf.for %e = %tid to %cKX step %cT {
      %eI = arith.muli %e, %cI : index
      %so = arith.divui %eI, %cKX : index
      %sj = arith.addi %t0, %so : index
)" << loadRow("%P", "$PT", PE, "sx", "sj", "%c0", s.D)
    << R"(      %sgc = arith.addi %nc, %e : index
      vector.store %sx, %cent[%b, %h, %sgc, %c0] : $CT, vector<$Dxf32>
      memref.store %c1i, %cnt[%b, %h, %sgc] : $CNT
    }
    gpu.barrier
    %ncx = arith.addi %nc, %cKX : index
    %nblkc = arith.subi %ncx, %nbcs : index
    %nblkm1 = arith.subi %nblkc, %c1 : index
    %eEnd = scf.for %t = %c0 to %cI step %c1 iter_args(%e = %c0) -> (index) {
      %hasSeed = arith.cmpi ult, %e, %cKX : index
      %eI2 = arith.muli %e, %cI : index
      %so2 = arith.divui %eI2, %cKX : index
      %isPos = arith.cmpi eq, %so2, %t : index
      %isSeed = arith.andi %hasSeed, %isPos : i1
      %en = scf.if %isSeed -> (index) {
        %e1 = arith.addi %e, %c1 : index
        scf.yield %e1 : index
      } else {
        %j = arith.addi %t0, %t : index
)" << loadRow("%P", "$PT", PE, "x", "j", "%c0", s.D);
  for (int64_t d = 0; d < s.D; d += 4)
    t << "  %x" << d << " = " << slice4("%x", d);
  t << R"(        %tb:2 = scf.for %c = %tid to %nblkc step %cT iter_args(%bi = %c0, %bd = %inff) -> (index, f32) {
          %gc = arith.addi %nbcs, %c : index
          %mu = vector.load %cent[%b, %h, %gc, %c0] {alignment = 16} : $CT, vector<$Dxf32>
          %sq = arith.mulf %mu, %mu : vector<$Dxf32>
          %nrm = vector.reduction <add>, %sq : vector<$Dxf32> into f32
)";
  std::string acc = "%zv4";
  for (int64_t d = 0; d < s.D; d += 4) {
    t << "  %u_m" << d << " = " << slice4("%mu", d)
      << "  %u_a" << d << " = vector.fma %x" << d << ", %u_m" << d << ", " << acc
      << " : vector<4xf32>\n";
    acc = "%u_a" + str(d);
  }
  t << "  %dot = vector.reduction <add>, " << acc << " : vector<4xf32> into f32\n";
  t << R"(          %t2 = arith.addf %dot, %dot : f32
          %dist = arith.subf %nrm, %t2 : f32
          %lt = arith.cmpf olt, %dist, %bd : f32
          %nbi = arith.select %lt, %c, %bi : index
          %nbd = arith.select %lt, %dist, %bd : f32
          scf.yield %nbi, %nbd : index, f32
        }
        // Threads without a cluster keep (inf, 0) and lose every tie to a
        // real candidate only by id order, which is fine: a real cluster has
        // a finite distance.
        %tbi = arith.index_cast %tb#0 : index to i32
        memref.store %tb#1, %rd[%tid] : memref<$Txf32, #gpu.address_space<workgroup>>
        memref.store %tbi, %ri[%tid] : memref<$Txi32, #gpu.address_space<workgroup>>
        gpu.barrier
)";
  for (int64_t st = kThreads / 2; st >= 1; st /= 2) {
    std::string x = str(st);
    t << "  %rs_c" << x << " = arith.constant " << x << " : index\n"
      << "  %rs_on" << x << " = arith.cmpi ult, %tid, %rs_c" << x << " : index\n"
      << "  scf.if %rs_on" << x << " {\n"
      << "  %rs_o" << x << " = arith.addi %tid, %rs_c" << x << " : index\n"
      << "  %rs_da" << x << " = memref.load %rd[%tid] : memref<$Txf32, #gpu.address_space<workgroup>>\n"
      << "  %rs_ia" << x << " = memref.load %ri[%tid] : memref<$Txi32, #gpu.address_space<workgroup>>\n"
      << "  %rs_db" << x << " = memref.load %rd[%rs_o" << x << "] : memref<$Txf32, #gpu.address_space<workgroup>>\n"
      << "  %rs_ib" << x << " = memref.load %ri[%rs_o" << x << "] : memref<$Txi32, #gpu.address_space<workgroup>>\n"
      << "  %rs_lt" << x << " = arith.cmpf olt, %rs_db" << x << ", %rs_da" << x << " : f32\n"
      << "  %rs_eq" << x << " = arith.cmpf oeq, %rs_db" << x << ", %rs_da" << x << " : f32\n"
      << "  %rs_li" << x << " = arith.cmpi slt, %rs_ib" << x << ", %rs_ia" << x << " : i32\n"
      << "  %rs_ti" << x << " = arith.andi %rs_eq" << x << ", %rs_li" << x << " : i1\n"
      << "  %rs_tk" << x << " = arith.ori %rs_lt" << x << ", %rs_ti" << x << " : i1\n"
      << "  %rs_nd" << x << " = arith.select %rs_tk" << x << ", %rs_db" << x << ", %rs_da" << x << " : f32\n"
      << "  %rs_ni" << x << " = arith.select %rs_tk" << x << ", %rs_ib" << x << ", %rs_ia" << x << " : i32\n"
      << "  memref.store %rs_nd" << x << ", %rd[%tid] : memref<$Txf32, #gpu.address_space<workgroup>>\n"
      << "  memref.store %rs_ni" << x << ", %ri[%tid] : memref<$Txi32, #gpu.address_space<workgroup>>\n"
      << "  }\n  gpu.barrier\n";
  }
  t << R"(        %win = memref.load %ri[%c0] : memref<$Txi32, #gpu.address_space<workgroup>>
        %winx0 = arith.index_cast %win : i32 to index
        %winx = arith.minui %winx0, %nblkm1 : index
        %wgc = arith.addi %nbcs, %winx : index
        %ni = memref.load %cnt[%b, %h, %wgc] : $CNT
        %ni1 = arith.addi %ni, %c1i : i32
        %nf = arith.sitofp %ni1 : i32 to f32
        gpu.barrier
        %tlt = arith.cmpi ult, %tid, %cDD : index
        scf.if %tlt {
)";
  if (PE == "f32")
    t << "  %xd = memref.load %P[%b, %h, %j, %tid] : $PT\n";
  else
    t << "  %xde = memref.load %P[%b, %h, %j, %tid] : $PT\n"
      << "  %xd = arith.extf %xde : " << PE << " to f32\n";
  t << R"(          %md = memref.load %cent[%b, %h, %wgc, %tid] : $CT
          %dx = arith.subf %xd, %md : f32
          %qd = arith.divf %dx, %nf : f32
          %md2 = arith.addf %md, %qd : f32
          memref.store %md2, %cent[%b, %h, %wgc, %tid] : $CT
        }
        scf.if %is0 {
          memref.store %ni1, %cnt[%b, %h, %wgc] : $CNT
        }
        gpu.barrier
        scf.yield %e : index
      }
      scf.yield %en : index
    }
    %nlc = arith.addi %lc, %cI : index
    %tend = arith.addi %cS, %nlc : index
    %L = arith.subi %tend, %nbst : index
)" << kmeansCore(pts, "%L", "%nbcs", "%nblkc", "%iters", false, s.D)
    << R"(    scf.yield %ncx, %nlc, %nbst, %nbcs, %true : index, index, index, index, i1
  }
  scf.if %r#4 {
    %tendF = arith.addi %cS, %r#1 : index
    %wasEmpty = arith.cmpi eq, %lc0, %c0 : index
    %cmin = arith.select %wasEmpty, %c0, %bc0 : index
    %tmin = arith.select %wasEmpty, %cS, %bs0 : index
    scf.if %is0 {
      %fbase = memref.load %off[%b, %h, %cmin] : $OFT
      %fe = scf.for %c = %cmin to %r#0 step %c1 iter_args(%acc = %fbase) -> (i32) {
        memref.store %acc, %off[%b, %h, %c] : $OFT
        %nc_ = memref.load %cnt[%b, %h, %c] : $CNT
        %acc2 = arith.addi %acc, %nc_ : i32
        scf.yield %acc2 : i32
      }
    }
    gpu.barrier
)" << finishClusters(vals, "%cmin", "%r#0", "%tmin", "%tendF", "members", s.D)
    << R"(    %lcf = arith.index_cast %r#1 : index to i32
    %tl = arith.addi %r#0, %tid : index
    scf.for %c = %tl to %cC1 step %cT {
      memref.store %lcf, %off[%b, %h, %c] : $OFT
    }
    scf.if %is0 {
      %nci = arith.index_cast %r#0 : index to i32
      %bsi = arith.index_cast %r#2 : index to i32
      %bci = arith.index_cast %r#3 : index to i32
      memref.store %nci, %st[%b, %h, %c0] : $STT
      memref.store %lcf, %st[%b, %h, %c1] : $STT
      memref.store %bsi, %st[%b, %h, %c2] : $STT
      memref.store %bci, %st[%b, %h, %c3] : $STT
    }
  }
  gpu.return
}
)";
  return expand(t.str(), vars);
}

std::string mlir::multipole::gpugen::clusterCoarsenKernel(
    llvm::StringRef name, const ClusterShape &s, const ClusterConfig &c) {
  // Here C is the coarse capacity and M the fine one (rows of the fine level).
  auto vars = baseVars(s, name);
  vars["FCT"] = "memref<$Bx$Hx$Mx$Dxf32>";
  vars["FCNT"] = "memref<$Bx$Hx$Mxi32>";
  vars["ITERS"] = str(c.buildIters);
  PointSpec pts{"%fcent", "$FCT", "f32", true, "%ids", "$AT", true, "%fcnt",
                "$FCNT", ""};
  PointSpec vals{"%fvcent", "$FCT", "f32", false, "", "", true, "%fcnt",
                 "$FCNT", ""};
  std::ostringstream t;
  t << R"(gpu.func @$NAME(%fcent: $FCT, %fvcent: $FCT, %fcnt: $FCNT, %fst: $STT,
    %cent: $CT, %vcent: $CT, %cnt: $CNT, %off: $OFT, %mem: $AT, %asg: $AT,
    %st: $STT, %ids: $AT, %norms: $NT)
    workgroup(%sm: memref<1xi32, #gpu.address_space<workgroup>>)
    kernel attributes {known_block_size = array<i32: $T, 1, 1>} {
)" << prelude(s.D)
    << configConsts(c) << R"(  %iters = arith.constant $ITERS : index
  %cD4 = arith.constant $D4 : index
  %cCD4 = arith.constant $CD4 : index
  %cC1 = arith.constant $C1 : index
  %cM = arith.constant $M : index
  %c4x = arith.constant 4 : index
  %h = gpu.block_id x
  %b = gpu.block_id y
)" << resetLevelText("%c0i") << R"(  %nci = memref.load %fst[%b, %h, %c0] : $STT
  %nc = arith.index_cast %nci : i32 to index
  scf.if %is0 {
    %mm = scf.for %c = %c0 to %nc step %c1 iter_args(%k = %c0i) -> (i32) {
      %fc = memref.load %fcnt[%b, %h, %c] : $FCNT
      %ne = arith.cmpi sgt, %fc, %c0i : i32
      %k2 = scf.if %ne -> (i32) {
        %kx = arith.index_cast %k : i32 to index
        %ci = arith.index_cast %c : index to i32
        memref.store %ci, %ids[%b, %h, %kx] : $AT
        %k1 = arith.addi %k, %c1i : i32
        scf.yield %k1 : i32
      } else {
        scf.yield %k : i32
      }
      scf.yield %k2 : i32
    }
    memref.store %mm, %sm[%c0] : memref<1xi32, #gpu.address_space<workgroup>>
  }
  gpu.barrier
  %mi = memref.load %sm[%c0] : memref<1xi32, #gpu.address_space<workgroup>>
  %m = arith.index_cast %mi : i32 to index
  %any = arith.cmpi ugt, %m, %c0 : index
  %ncc = scf.if %any -> (index) {
)" << clustersText("Cb0", "%m")
    << "  %Cb = arith.minui %Cb0, %cC : index\n"
    << kmeansCore(pts, "%m", "%c0", "%Cb", "%iters", true, s.D)
    // Members per coarse cluster (fine clusters), then offsets.
    << R"(  scf.for %cc = %warp to %Cb step %cNW {
    %cci = arith.index_cast %cc : index to i32
    %tot = scf.for %t0 = %c0 to %nc step %c32 iter_args(%a = %c0i) -> (i32) {
      %tt = arith.addi %t0, %lane : index
      %in = arith.cmpi ult, %tt, %nc : index
      %tc = arith.select %in, %tt, %c0 : index
      %aa = memref.load %asg[%b, %h, %tc] : $AT
      %eq = arith.cmpi eq, %aa, %cci : i32
      %p = arith.andi %in, %eq : i1
      %mask = nvvm.vote.sync ballot %full, %p -> i32
      %pc = math.ctpop %mask : i32
      %a2 = arith.addi %a, %pc : i32
      scf.yield %a2 : i32
    }
    scf.if %lane0 {
      %cp1 = arith.addi %cc, %c1 : index
      memref.store %tot, %off[%b, %h, %cp1] : $OFT
    }
  }
  gpu.barrier
  scf.if %is0 {
    scf.for %c = %c0 to %cC step %c1 {
      %o0 = memref.load %off[%b, %h, %c] : $OFT
      %cp1 = arith.addi %c, %c1 : index
      %o1 = memref.load %off[%b, %h, %cp1] : $OFT
      %o2 = arith.addi %o0, %o1 : i32
      memref.store %o2, %off[%b, %h, %cp1] : $OFT
    }
  }
  gpu.barrier
)" << finishClusters(vals, "%c0", "%Cb", "%c0", "%nc", "cnt", s.D)
    << R"(  scf.yield %Cb : index
  } else {
    scf.yield %c0 : index
  }
  scf.if %is0 {
    %ncci = arith.index_cast %ncc : index to i32
    %lci = memref.load %fst[%b, %h, %c1] : $STT
    memref.store %ncci, %st[%b, %h, %c0] : $STT
    memref.store %lci, %st[%b, %h, %c1] : $STT
    memref.store %c0i, %st[%b, %h, %c2] : $STT
    memref.store %c0i, %st[%b, %h, %c3] : $STT
  }
  gpu.return
}
)";
  return expand(t.str(), vars);
}
