//===- AttentionKernels.cpp - split-KV attention, combine, merge (GPU) ----===//
//
// Layout: a K/V row of D elements is read by `lanes = D / vec` consecutive
// lanes with one 16-byte load each; a warp holds 32 / lanes row groups, a CTA
// of `threads` threads NG = threads / lanes groups. Every group walks its own
// contiguous share of the CTA's tokens with an online softmax for all G query
// heads of the KV head, so each K/V row is loaded once for the whole GQA
// group. Partial states are combined through shared memory at the end of the
// CTA and written per split; `combine` / `merge` kernels reduce the splits.
//
//===----------------------------------------------------------------------===//

#include "KernelGen.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <vector>

using namespace mlir::multipole::gpugen;

std::string mlir::multipole::gpugen::subst(
    llvm::StringRef text, const std::map<std::string, std::string> &vars) {
  std::vector<std::pair<std::string, std::string>> sorted(vars.begin(),
                                                          vars.end());
  std::sort(sorted.begin(), sorted.end(), [](auto &a, auto &b) {
    return a.first.size() > b.first.size();
  });
  std::string out;
  out.reserve(text.size() * 2);
  for (size_t i = 0; i < text.size();) {
    if (text[i] == '$') {
      bool hit = false;
      for (auto &[k, v] : sorted) {
        if (text.substr(i + 1).starts_with(k)) {
          out += v;
          i += 1 + k.size();
          hit = true;
          break;
        }
      }
      if (hit)
        continue;
    }
    out += text[i++];
  }
  return out;
}

std::string mlir::multipole::gpugen::parentSelectedText(const std::string &sfx,
                                                       const std::string &idx,
                                                       const std::string &dim) {
  const std::string &x = sfx;
  return "    %pp" + x + " = memref.load %pa[%b, %h, " + idx + "] : memref<$Bx$Hx" +
         dim + "xi32>\n" +
         "    %pok" + x + " = arith.cmpi sge, %pp" + x + ", %c0i : i32\n" +
         "    %ppc" + x + " = arith.maxsi %pp" + x + ", %c0i : i32\n" +
         "    %ppi" + x + " = arith.index_cast %ppc" + x + " : i32 to index\n" +
         "    %psv" + x + " = memref.load %ps[%b, %h, %ppi" + x +
         "] : memref<$Bx$Hx$CPxi8>\n" +
         "    %psel" + x + " = arith.cmpi ne, %psv" + x + ", %c0i8 : i8\n" +
         "    %pe" + x + " = arith.andi %pok" + x + ", %psel" + x + " : i1\n";
}

bool mlir::multipole::gpugen::attnShapeSupported(const AttnShape &s,
                                                 std::string &why) {
  if ((s.D * s.eltBytes()) % 16 != 0) {
    why = "head dim * element size must be a multiple of 16 bytes";
    return false;
  }
  int64_t l = s.lanes();
  if (l < 1 || l > 32 || (l & (l - 1))) {
    why = "head dim / (16 / element size) must be a power of two <= 32";
    return false;
  }
  if (s.H <= 0 || s.Hq % s.H) {
    why = "query heads must be a multiple of KV heads";
    return false;
  }
  return true;
}

namespace {
/// Rows per group per loop iteration in the streaming kernels.
constexpr int64_t kUnroll = 4;
std::string str(int64_t v) { return std::to_string(v); }

/// Common substitutions for attention kernels.
std::map<std::string, std::string> attnVars(const AttnShape &s,
                                            int64_t splits, int64_t threads) {
  int64_t lanes = s.lanes(), ng = threads / lanes;
  return {{"B", str(s.B)},         {"HQ", str(s.Hq)},
          {"H", str(s.H)},         {"N", str(s.N)},
          {"D", str(s.D)},         {"E", s.elt},
          {"G", str(s.G())},       {"V", str(s.vec())},
          {"LANES", str(lanes)},   {"NG", str(ng)},
          {"S", str(splits)},      {"T", str(threads)},
          {"NGG", str(ng * s.G())}, {"NGGD", str(ng * s.G() * s.D)},
          {"GD", str(s.G() * s.D)}, {"UNG", str(ng * kUnroll)}};
}

/// Butterfly sum over the `lanes` lanes of a row group (xor offsets stay
/// inside the group since `lanes` is a power of two).
std::string rowReduce(const std::string &var, int64_t lanes,
                      const std::string &out) {
  std::string r, cur = var;
  int step = 0;
  for (int64_t off = lanes / 2; off >= 1; off /= 2, ++step) {
    std::string o = var + "_o" + str(step), sh = var + "_sh" + str(step),
                nx = var + "_r" + str(step);
    r += "        %" + o + " = arith.constant " + str(off) + " : i32\n";
    r += "        %" + sh + ", %" + sh + "_ok = gpu.shuffle xor %" + cur +
         ", %" + o + ", %c32i : f32\n";
    r += "        %" + nx + " = arith.addf %" + cur + ", %" + sh + " : f32\n";
    cur = nx;
  }
  r += "        %" + out + " = arith.addf %" + cur + ", %zf : f32\n";
  return r;
}
} // namespace

std::string mlir::multipole::gpugen::splitRangeText(SplitMode mode,
                                                    bool hasLens) {
  // Length of the token sequence of this (b, h).
  std::string t;
  if (mode == SplitMode::Approx)
    t = "  %nti = memref.load %st[%b, %h, %c0] : memref<$Bx$Hx4xi32>\n";
  else if (mode == SplitMode::Sparse)
    t = "  %nti = memref.load %ntok[%b, %h] : memref<$Bx$Hxi32>\n";
  else if (hasLens)
    t = "  %nti = memref.load %lens[%b] : memref<$Bxi32>\n";
  else
    t = "  %nti = arith.constant $N : i32\n";
  return t + R"(  %nt0 = arith.index_cast %nti : i32 to index
  %nt1 = arith.maxsi %nt0, %c0 : index
  %nt = arith.minui %nt1, %cN : index
  // This CTA's tokens, then this group's contiguous share.
  %chunk = arith.ceildivui %nt, %cS : index
  %lo0 = arith.muli %split, %chunk : index
  %lo = arith.minui %lo0, %nt : index
  %hi0 = arith.addi %lo, %chunk : index
  %hi = arith.minui %hi0, %nt : index
  %len = arith.subi %hi, %lo : index
)";
}

std::string mlir::multipole::gpugen::splitPartialCombineText() {
  return R"(  scf.for %cb_w = %tid to %cGD step %cT {
    %cb_hg = arith.divui %cb_w, %cD : index
    %cb_d = arith.remui %cb_w, %cD : index
    %cb_M = scf.for %cb_r = %c0 to %cNG step %c1 iter_args(%cb_mx = %ninf) -> (f32) {
      %cb_rG = arith.muli %cb_r, %cG : index
      %cb_sl0 = arith.addi %cb_rG, %cb_hg : index
      %cb_mr = memref.load %sm[%cb_sl0] : memref<$NGGxf32, #gpu.address_space<workgroup>>
      %cb_lr = memref.load %sl[%cb_sl0] : memref<$NGGxf32, #gpu.address_space<workgroup>>
      %cb_has = arith.cmpf ogt, %cb_lr, %zf : f32
      %cb_mm = arith.maximumf %cb_mx, %cb_mr : f32
      %cb_nm = arith.select %cb_has, %cb_mm, %cb_mx : f32
      scf.yield %cb_nm : f32
    }
    %cb_LA:2 = scf.for %cb_r = %c0 to %cNG step %c1 iter_args(%cb_ls = %zf, %cb_as = %zf) -> (f32, f32) {
      %cb_rG = arith.muli %cb_r, %cG : index
      %cb_sl0 = arith.addi %cb_rG, %cb_hg : index
      %cb_mr = memref.load %sm[%cb_sl0] : memref<$NGGxf32, #gpu.address_space<workgroup>>
      %cb_lr = memref.load %sl[%cb_sl0] : memref<$NGGxf32, #gpu.address_space<workgroup>>
      %cb_has = arith.cmpf ogt, %cb_lr, %zf : f32
      %cb_dd = arith.subf %cb_mr, %cb_M : f32
      %cb_ee = math.exp %cb_dd : f32
      %cb_fa = arith.select %cb_has, %cb_ee, %zf : f32
      %cb_sb = arith.muli %cb_sl0, %cD : index
      %cb_si = arith.addi %cb_sb, %cb_d : index
      %cb_ar = memref.load %sacc[%cb_si] : memref<$NGGDxf32, #gpu.address_space<workgroup>>
      %cb_l2 = arith.mulf %cb_lr, %cb_fa : f32
      %cb_ls2 = arith.addf %cb_ls, %cb_l2 : f32
      %cb_a2 = arith.mulf %cb_ar, %cb_fa : f32
      %cb_az = arith.select %cb_has, %cb_a2, %zf : f32
      %cb_as2 = arith.addf %cb_as, %cb_az : f32
      scf.yield %cb_ls2, %cb_as2 : f32, f32
    }
    %cb_hG = arith.muli %h, %cG : index
    %cb_qh = arith.addi %cb_hG, %cb_hg : index
    memref.store %cb_LA#1, %pacc[%b, %cb_qh, %split, %cb_d] : memref<$Bx$HQx$Sx$Dxf32>
    %cb_d0z = arith.cmpi eq, %cb_d, %c0 : index
    scf.if %cb_d0z {
      memref.store %cb_M, %pm[%b, %cb_qh, %split] : memref<$Bx$HQx$Sxf32>
      memref.store %cb_LA#0, %pl[%b, %cb_qh, %split] : memref<$Bx$HQx$Sxf32>
    }
  }
)";
}

std::string mlir::multipole::gpugen::attentionSplitKernel(
    llvm::StringRef name, const AttnShape &s, const AttnLaunch &l, bool sparse,
    bool hasLens) {
  return attentionSplitKernelImpl(name, s, l, sparse ? SplitMode::Sparse
                                                     : SplitMode::Dense,
                                  hasLens, false, 0);
}

int64_t mlir::multipole::gpugen::approxFloatsPerLane(const AttnShape &s) {
  // 64 bytes per lane at large batch (fewer lanes per row, fewer shuffles:
  // 0.152 ms vs 0.166 ms at B = 16, runs 14-15), 32 bytes at small batch
  // (85 instead of 134 registers: 5 CTAs per SM for one short wave).
  auto ok = [&](int64_t pl) {
    return s.D % pl == 0 && s.D / pl <= 32 && ((s.D / pl) & (s.D / pl - 1)) == 0;
  };
  if (s.B * s.H >= 64 && ok(16))
    return 16;
  if (ok(8))
    return 8;
  return 0;
}

std::string mlir::multipole::gpugen::approxSplitKernel(
    llvm::StringRef name, const AttnShape &s, int64_t C, int64_t csplits,
    int64_t threads, bool hasParent, int64_t Cparent,
    int64_t laneFloats) {
  // Rows are f32 value centroids; "tokens" are clusters.
  AttnShape a = s;
  a.elt = "f32";
  a.N = C;
  // 32 bytes of a value-centroid row per lane (16 lanes per 512-byte row):
  // more loads in flight than one 16-byte load each, and few enough
  // registers for 4+ CTAs per SM (64 bytes per lane needed 134: run 14).
  a.perLane = laneFloats;
  return attentionSplitKernelImpl(name, a, AttnLaunch{csplits, threads},
                                  SplitMode::Approx, true, hasParent, Cparent);
}

std::string mlir::multipole::gpugen::attentionSplitKernelImpl(
    llvm::StringRef name, const AttnShape &s, const AttnLaunch &l,
    SplitMode mode, bool hasLens, bool hasParent, int64_t Cparent) {
  bool sparse = mode == SplitMode::Sparse, approx = mode == SplitMode::Approx;
  auto vars = attnVars(s, l.splits, l.threads);
  vars["NAME"] = name.str();
  vars["CP"] = std::to_string(Cparent);
  int64_t G = s.G(), lanes = s.lanes();
  std::string t;
  llvm::raw_string_ostream os(t);
  // Signature. Sparse mode reads a token list [B,H,N] i32 and its length;
  // approx mode reads logits, value centroids, counts, state and selection.
  if (approx) {
    os << "gpu.func @$NAME(%a: memref<$Bx$HQx$Nxf32>, %v: memref<$Bx$Hx$Nx$Dxf32>, "
          "%cnt: memref<$Bx$Hx$Nxi32>, %st: memref<$Bx$Hx4xi32>, "
          "%sel: memref<$Bx$Hx$Nxi8>, ";
    if (hasParent)
      os << "%pa: memref<$Bx$Hx$Nxi32>, %ps: memref<$Bx$Hx$CPxi8>, ";
  } else {
    os << "gpu.func @$NAME(%q: memref<$Bx$HQx$Dx$E>, %k: memref<$Bx$Hx$Nx$Dx$E>, "
          "%v: memref<$Bx$Hx$Nx$Dx$E>, ";
  }
  if (hasLens && !sparse && !approx)
    os << "%lens: memref<$Bxi32>, ";
  if (sparse)
    os << "%tok: memref<$Bx$Hx$Nxi32>, %ntok: memref<$Bx$Hxi32>, ";
  os << "%pacc: memref<$Bx$HQx$Sx$Dxf32>, %pm: memref<$Bx$HQx$Sxf32>, "
        "%pl: memref<$Bx$HQx$Sxf32>, %scale: f32)\n"
        "    workgroup(%sm: memref<$NGGxf32, #gpu.address_space<workgroup>>, "
        "%sl: memref<$NGGxf32, #gpu.address_space<workgroup>>, "
        "%sacc: memref<$NGGDxf32, #gpu.address_space<workgroup>>)\n"
        "    kernel attributes {known_block_size = array<i32: $T, 1, 1>} {\n";
  os << R"(
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c32i = arith.constant 32 : i32
  %zf = arith.constant 0.0 : f32
  %ninf = arith.constant 0xFF800000 : f32
  %zv = arith.constant dense<0.0> : vector<$Vxf32>
  %c0i = arith.constant 0 : i32
  %c0i8 = arith.constant 0 : i8
  %cLANES = arith.constant $LANES : index
  %cV = arith.constant $V : index
  %cNG = arith.constant $NG : index
  %cS = arith.constant $S : index
  %cN = arith.constant $N : index
  %cD = arith.constant $D : index
  %cG = arith.constant $G : index
  %cT = arith.constant $T : index
  %cGD = arith.constant $GD : index
  %split = gpu.block_id x
  %h = gpu.block_id y
  %b = gpu.block_id z
  %tid = gpu.thread_id x
  %grp = arith.divui %tid, %cLANES : index
  %sub = arith.remui %tid, %cLANES : index
  %d0 = arith.muli %sub, %cV : index
)";
  os << splitRangeText(approx ? SplitMode::Approx
                              : sparse ? SplitMode::Sparse : SplitMode::Dense,
                       hasLens);
  os << R"(  // Every lane runs the same number of iterations (the row reductions are
  // warp shuffles over all lanes): group g takes tokens lo + g, lo + g + NG, ...
  %cUNG = arith.constant $UNG : index
  %trip = arith.ceildivui %len, %cUNG : index
  %lo_g = arith.addi %lo, %grp : index
  %one = arith.constant 1.0 : f32
)";
  // Query rows of the group, scaled.
  for (int64_t g = 0; g < G; ++g) {
    std::string gs = str(g);
    os << "  %qi" << gs << " = arith.constant " << gs << " : index\n"
       << "  %hG" << gs << " = arith.muli %h, %cG : index\n"
       << "  %qh" << gs << " = arith.addi %hG" << gs << ", %qi" << gs << " : index\n";
    if (approx)
      continue;
    os << "  %qr" << gs << " = vector.load %q[%b, %qh" << gs
       << ", %d0] {alignment = 16} : memref<$Bx$HQx$Dx$E>, vector<$Vx$E>\n";
    if (s.elt == "f32")
      os << "  %qf" << gs << " = arith.addf %qr" << gs << ", %zv : vector<$Vxf32>\n";
    else
      os << "  %qf" << gs << " = arith.extf %qr" << gs
         << " : vector<$Vx$E> to vector<$Vxf32>\n";
    os << "  %sc" << gs << " = vector.broadcast %scale : f32 to vector<$Vxf32>\n"
       << "  %qs" << gs << " = arith.mulf %qf" << gs << ", %sc" << gs
       << " : vector<$Vxf32>\n";
  }
  if (!approx && G > 1 && G <= lanes && (G & (G - 1)) == 0) {
    int64_t logG = 0;
    while ((int64_t(1) << logG) < G)
      ++logG;
    os << "  %c32x = arith.constant 32 : index\n"
          "  %lane = arith.remui %tid, %c32x : index\n"
          "  %gbase = arith.subi %lane, %sub : index\n";
    for (int64_t i = 0; i < logG; ++i) {
      int64_t off = lanes >> (i + 1);
      os << "  %tbo" << i << " = arith.constant " << off << " : index\n"
         << "  %tba" << i << " = arith.andi %sub, %tbo" << i << " : index\n"
         << "  %tb" << i << " = arith.cmpi ne, %tba" << i << ", %c0 : index\n";
    }
    // The lane of a group that ends with head g's sum.
    for (int64_t g = 0; g < G; ++g) {
      int64_t subg = 0;
      for (int64_t i = 0; i < logG; ++i)
        if ((g >> (logG - 1 - i)) & 1)
          subg += lanes >> (i + 1);
      os << "  %jsg" << g << " = arith.constant " << subg << " : index\n"
         << "  %jsl" << g << " = arith.addi %gbase, %jsg" << g << " : index\n"
         << "  %jsrc" << g << " = arith.index_cast %jsl" << g << " : index to i32\n";
    }
  }
  // Token loop: U rows per group per iteration, all loads issued first (more
  // bytes in flight per warp), then one online-softmax update per head.
  const int64_t U = kUnroll;
  std::string VT = "vector<$Vxf32>";
  os << "  %res:" << 3 * G << " = scf.for %it = %c0 to %trip step %c1 iter_args(";
  for (int64_t g = 0; g < G; ++g)
    os << (g ? ", " : "") << "%m" << g << " = %ninf, %l" << g << " = %zf, %a"
       << g << " = %zv";
  os << ") -> (";
  for (int64_t g = 0; g < G; ++g)
    os << (g ? ", " : "") << "f32, f32, " << VT;
  os << ") {\n"
        "    %itu = arith.muli %it, %cUNG : index\n"
        "    %base = arith.addi %lo_g, %itu : index\n";
  for (int64_t u = 0; u < U; ++u) {
    std::string us = str(u);
    os << "    %uo" << us << " = arith.constant " << u * 1 << " : index\n"
       << "    %uoff" << us << " = arith.muli %uo" << us << ", %cNG : index\n"
       << "    %p0_" << us << " = arith.addi %base, %uoff" << us << " : index\n"
       << "    %valid" << us << " = arith.cmpi ult, %p0_" << us << ", %hi : index\n"
       << "    %p" << us << " = arith.select %valid" << us << ", %p0_" << us
       << ", %lo : index\n";
    if (sparse)
      os << "    %ji" << us << " = memref.load %tok[%b, %h, %p" << us
         << "] : memref<$Bx$Hx$Nxi32>\n"
         << "    %j" << us << " = arith.index_cast %ji" << us << " : i32 to index\n";
    else
      os << "    %j" << us << " = arith.addi %p" << us << ", %c0 : index\n";
    if (approx) {
      os << "    %cn" << us << " = memref.load %cnt[%b, %h, %j" << us
         << "] : memref<$Bx$Hx$Nxi32>\n"
         << "    %ne" << us << " = arith.cmpi sgt, %cn" << us << ", %c0i : i32\n"
         << "    %sv" << us << " = memref.load %sel[%b, %h, %j" << us
         << "] : memref<$Bx$Hx$Nxi8>\n"
         << "    %ns" << us << " = arith.cmpi eq, %sv" << us << ", %c0i8 : i8\n"
         << "    %ela" << us << " = arith.andi %ne" << us << ", %ns" << us << " : i1\n"
         << "    %elb" << us << " = arith.andi %ela" << us << ", %valid" << us << " : i1\n";
      if (hasParent)
        os << parentSelectedText(us, "%j" + us, "$N")
           << "    %ok" << us << " = arith.andi %elb" << us << ", %pe" << us << " : i1\n";
      else
        os << "    %ok" << us << " = arith.andi %elb" << us << ", %elb" << us << " : i1\n";
      os << "    %vf" << us << " = vector.load %v[%b, %h, %j" << us
         << ", %d0] {alignment = 16} : memref<$Bx$Hx$Nx$Dxf32>, " << VT << "\n"
         << "    %cnf" << us << " = arith.sitofp %cn" << us << " : i32 to f32\n"
         << "    %lcn" << us << " = math.log %cnf" << us << " : f32\n";
    } else {
      os << "    %ok" << us << " = arith.andi %valid" << us << ", %valid" << us << " : i1\n"
         << "    %kr" << us << " = vector.load %k[%b, %h, %j" << us
         << ", %d0] {alignment = 16} : memref<$Bx$Hx$Nx$Dx$E>, vector<$Vx$E>\n"
         << "    %vr" << us << " = vector.load %v[%b, %h, %j" << us
         << ", %d0] {alignment = 16} : memref<$Bx$Hx$Nx$Dx$E>, vector<$Vx$E>\n";
    }
  }
  if (!approx)
    for (int64_t u = 0; u < U; ++u) {
      std::string us = str(u);
      if (s.elt == "f32")
        os << "    %kf" << us << " = arith.addf %kr" << us << ", %zv : " << VT << "\n"
           << "    %vf" << us << " = arith.addf %vr" << us << ", %zv : " << VT << "\n";
      else
        os << "    %kf" << us << " = arith.extf %kr" << us << " : vector<$Vx$E> to " << VT << "\n"
           << "    %vf" << us << " = arith.extf %vr" << us << " : vector<$Vx$E> to " << VT << "\n";
    }
  // Row reductions. With G heads (G a power of two <= lanes) the G partial
  // dots of a row are reduced together: each butterfly step halves the set a
  // lane keeps and exchanges the other half (G - 1 shuffles), then plain
  // steps finish one head per lane, and G index shuffles broadcast the G
  // sums: 9 shuffles per row for G = 4, 16 lanes, instead of 16.
  bool joint = !approx && G > 1 && G <= lanes && (G & (G - 1)) == 0;
  if (joint) {
    int64_t logG = 0;
    while ((int64_t(1) << logG) < G)
      ++logG;
    for (int64_t u = 0; u < U; ++u) {
      std::string us = str(u);
      std::vector<std::string> vals;
      for (int64_t g = 0; g < G; ++g) {
        std::string gu = str(g) + "_" + us;
        os << "    %pr" << gu << " = arith.mulf %qs" << g << ", %kf" << us << " : " << VT << "\n"
           << "    %ps" << gu << " = vector.reduction <add>, %pr" << gu << " : " << VT
           << " into f32\n";
        vals.push_back("%ps" + gu);
      }
      for (int64_t i = 0; i < logG; ++i) {
        int64_t off = lanes >> (i + 1), half = int64_t(vals.size()) / 2;
        std::vector<std::string> next;
        for (int64_t k = 0; k < half; ++k) {
          std::string n = us + "_" + str(i) + "_" + str(k);
          os << "    %jsend" << n << " = arith.select %tb" << i << ", " << vals[k] << ", "
             << vals[half + k] << " : f32\n"
             << "    %jkeep" << n << " = arith.select %tb" << i << ", " << vals[half + k]
             << ", " << vals[k] << " : f32\n"
             << "    %joff" << n << " = arith.constant " << off << " : i32\n"
             << "    %jrecv" << n << ", %jok" << n << " = gpu.shuffle xor %jsend" << n
             << ", %joff" << n << ", %c32i : f32\n"
             << "    %jsum" << n << " = arith.addf %jkeep" << n << ", %jrecv" << n << " : f32\n";
          next.push_back("%jsum" + n);
        }
        vals = next;
      }
      std::string cur = vals[0];
      for (int64_t off = lanes >> (logG + 1), st = 0; off >= 1; off /= 2, ++st) {
        std::string n = us + "_p" + str(st);
        os << "    %jpo" << n << " = arith.constant " << off << " : i32\n"
           << "    %jps" << n << ", %jpok" << n << " = gpu.shuffle xor " << cur << ", %jpo"
           << n << ", %c32i : f32\n"
           << "    %jpa" << n << " = arith.addf " << cur << ", %jps" << n << " : f32\n";
        cur = "%jpa" + n;
      }
      for (int64_t g = 0; g < G; ++g) {
        std::string gu = str(g) + "_" + us;
        os << "    %xr" << gu << ", %xrok" << gu << " = gpu.shuffle idx " << cur
           << ", %jsrc" << g << ", %c32i : f32\n";
      }
    }
  }
  for (int64_t g = 0; g < G; ++g) {
    std::string gs = str(g);
    std::string mcur = "%m" + gs;
    for (int64_t u = 0; u < U; ++u) {
      std::string gu = gs + "_" + str(u), us = str(u);
      if (joint) {
      } else if (approx) {
        os << "    %lg" << gu << " = memref.load %a[%b, %qh" << gs << ", %j" << us
           << "] : memref<$Bx$HQx$Nxf32>\n"
           << "    %xr" << gu << " = arith.addf %lg" << gu << ", %lcn" << us << " : f32\n";
      } else {
        os << "    %pr" << gu << " = arith.mulf %qs" << gs << ", %kf" << us << " : " << VT << "\n"
           << "    %ps" << gu << " = vector.reduction <add>, %pr" << gu << " : " << VT
           << " into f32\n";
        os << rowReduce("ps" + gu, lanes, "xr" + gu);
      }
      os << "    %x" << gu << " = arith.select %ok" << us << ", %xr" << gu << ", %ninf : f32\n"
         << "    %mx" << gu << " = arith.maximumf " << mcur << ", %x" << gu << " : f32\n";
      mcur = "%mx" + gu;
    }
    // Rescale once; rows of invalid tokens get weight 0.
    os << "    %mn" << gs << " = arith.addf " << mcur << ", %zf : f32\n"
       << "    %none" << gs << " = arith.cmpf oeq, %mn" << gs << ", %ninf : f32\n"
       << "    %dm" << gs << " = arith.subf %m" << gs << ", %mn" << gs << " : f32\n"
       << "    %fe" << gs << " = math.exp %dm" << gs << " : f32\n"
       << "    %f" << gs << " = arith.select %none" << gs << ", %one, %fe" << gs << " : f32\n"
       << "    %lf" << gs << " = arith.mulf %l" << gs << ", %f" << gs << " : f32\n"
       << "    %fv" << gs << " = vector.broadcast %f" << gs << " : f32 to " << VT << "\n"
       << "    %af" << gs << " = arith.mulf %a" << gs << ", %fv" << gs << " : " << VT << "\n";
    std::string lcur = "%lf" + gs, acur = "%af" + gs;
    for (int64_t u = 0; u < U; ++u) {
      std::string gu = gs + "_" + str(u), us = str(u);
      os << "    %dx" << gu << " = arith.subf %x" << gu << ", %mn" << gs << " : f32\n"
         << "    %ee" << gu << " = math.exp %dx" << gu << " : f32\n"
         << "    %e" << gu << " = arith.select %ok" << us << ", %ee" << gu << ", %zf : f32\n"
         << "    %ls" << gu << " = arith.addf " << lcur << ", %e" << gu << " : f32\n"
         << "    %ev" << gu << " = vector.broadcast %e" << gu << " : f32 to " << VT << "\n"
         << "    %as" << gu << " = vector.fma %ev" << gu << ", %vf" << us << ", " << acur
         << " : " << VT << "\n";
      lcur = "%ls" + gu;
      acur = "%as" + gu;
    }
    os << "    %ln" << gs << " = arith.addf " << lcur << ", %zf : f32\n"
       << "    %an" << gs << " = arith.addf " << acur << ", %zv : " << VT << "\n";
  }
  os << "    scf.yield ";
  for (int64_t g = 0; g < G; ++g)
    os << (g ? ", " : "") << "%mn" << g << ", %ln" << g << ", %an" << g;
  os << " : ";
  for (int64_t g = 0; g < G; ++g)
    os << (g ? ", " : "") << "f32, f32, " << VT;
  os << "\n  }\n";
  // CTA combine through shared memory.
  os << "  %isLead = arith.cmpi eq, %sub, %c0 : index\n"
        "  %gG = arith.muli %grp, %cG : index\n";
  for (int64_t g = 0; g < G; ++g) {
    std::string gs = str(g);
    os << "  %slot" << gs << " = arith.addi %gG, %qi" << gs << " : index\n"
       << "  scf.if %isLead {\n"
       << "    memref.store %res#" << 3 * g << ", %sm[%slot" << gs
       << "] : memref<$NGGxf32, #gpu.address_space<workgroup>>\n"
       << "    memref.store %res#" << 3 * g + 1 << ", %sl[%slot" << gs
       << "] : memref<$NGGxf32, #gpu.address_space<workgroup>>\n"
       << "  }\n"
       << "  %sbase" << gs << " = arith.muli %slot" << gs << ", %cD : index\n"
       << "  %sidx" << gs << " = arith.addi %sbase" << gs << ", %d0 : index\n"
       << "  vector.store %res#" << 3 * g + 2 << ", %sacc[%sidx" << gs
       << "] : memref<$NGGDxf32, #gpu.address_space<workgroup>>, vector<$Vxf32>\n";
  }
  os << "  gpu.barrier\n" << splitPartialCombineText() << "  gpu.return\n}\n";
  return subst(t, vars);
}
