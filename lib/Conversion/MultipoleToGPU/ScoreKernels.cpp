//===- ScoreKernels.cpp - centroid scoring, selection, token lists (GPU) --===//
//
// centroid_score: `<name>_logits` splits the clusters of each (sequence, KV
//   head) over CTAs; a centroid row (f32) is read by D/4 lanes with 16-byte
//   loads, once for all G query heads; it writes the logits and per-split
//   (max, sum n exp) pairs. `<name>_scores` (one CTA per head) merges those
//   into Z and writes r_c.
// select_clusters: one CTA per (sequence, KV head) finds the threshold with a
//   4-pass 8-bit radix select over the score bits, weighted by token counts
//   (histograms in shared memory): no sort, no host synchronisation.
// compact: the token list of the exact part (sink, window, selected members)
//   for sparse_attention, from a block-wide scan of the selected counts.
//
//===----------------------------------------------------------------------===//

#include "KernelGen.h"

#include "llvm/Support/raw_ostream.h"

#include <cmath>

using namespace mlir::multipole::gpugen;

namespace {
std::string str(int64_t v) { return std::to_string(v); }

/// MLIR text: inclusive warp scan (sum) of the i32 `val` over lanes, with
/// shuffles up; names start with `p`, the result is `%<p>incl`. Needs `lane`
/// (index), `%c0i` and a width constant `w32` (i32).
std::string warpInclusiveScan(const std::string &p, const std::string &val,
                              const std::string &lane, const std::string &w32,
                              const std::string &indent) {
  std::string r, cur = val;
  for (int k = 0, off = 1; off < 32; off *= 2, ++k) {
    std::string n = p + str(k);
    r += indent + "%" + n + "o = arith.constant " + str(off) + " : i32\n" +
         indent + "%" + n + "c = arith.constant " + str(off) + " : index\n" +
         indent + "%" + n + "s, %" + n + "v = gpu.shuffle up " + cur + ", %" +
         n + "o, " + w32 + " : i32\n" + indent + "%" + n +
         "h = arith.cmpi uge, " + lane + ", %" + n + "c : index\n" + indent +
         "%" + n + "z = arith.select %" + n + "h, %" + n + "s, %c0i : i32\n" +
         indent + "%" + n + "a = arith.addi " + cur + ", %" + n + "z : i32\n";
    cur = "%" + n + "a";
  }
  r += indent + "%" + p + "incl_ = arith.addi " + cur + ", %c0i : i32\n";
  return r;
}

/// MLIR text: `%<p>own` (i32), the first lane whose i32 `incl` exceeds the
/// i32 `q` (binary search over the 32 lanes with shuffles). Needs `%c0i`,
/// `%c1i`, `%c31i`, `%w32`.
std::string laneSearch(const std::string &p, const std::string &incl,
                       const std::string &q, const std::string &indent) {
  std::string r, lo = "%c0i", hi = "%c31i";
  for (int k = 0; k < 5; ++k) {
    std::string n = "%" + p + str(k);
    r += indent + n + "s = arith.addi " + lo + ", " + hi + " : i32\n" + indent +
         n + "m = arith.shrui " + n + "s, %c1i : i32\n" + indent + n + "v, " +
         n + "ok = gpu.shuffle idx " + incl + ", " + n + "m, %w32 : i32\n" +
         indent + n + "g = arith.cmpi sgt, " + n + "v, " + q + " : i32\n" +
         indent + n + "m1 = arith.addi " + n + "m, %c1i : i32\n" + indent + n +
         "lo = arith.select " + n + "g, " + lo + ", " + n + "m1 : i32\n" +
         indent + n + "hi = arith.select " + n + "g, " + n + "m, " + hi +
         " : i32\n";
    lo = n + "lo";
    hi = n + "hi";
  }
  r += indent + "%" + p + "own = arith.minui " + lo + ", %c31i : i32\n";
  return r;
}
std::string fstr(double v) {
  char buf[64];
  snprintf(buf, sizeof(buf), "%.17e", v);
  return buf;
}
} // namespace

bool mlir::multipole::gpugen::laneFloatsFit(int64_t D, int64_t pl) {
  return pl > 0 && D % pl == 0 && D / pl <= 32 && ((D / pl) & (D / pl - 1)) == 0;
}

int64_t mlir::multipole::gpugen::scoreFloatsPerLane(const AttnShape &s,
                                                   double theta) {
  // 8 floats (32 bytes) of a centroid row per lane: 16 lanes per 512-byte
  // row. 16 floats per lane needed 178 registers (2 CTAs per SM; run 14).
  // Windowed RoPE keeps 4 per lane (the rotation code would spill).
  if (theta == 0 && s.D % 8 == 0 && s.D / 8 <= 32 &&
      ((s.D / 8) & (s.D / 8 - 1)) == 0)
    return 8;
  return 4;
}

std::string mlir::multipole::gpugen::scoreKernels(llvm::StringRef name,
                                                  const AttnShape &s, int64_t C,
                                                  int64_t csplits, int64_t ssplits,
                                                  int64_t scorePos,
                                                  double theta,
                                                  int64_t laneFloats) {
  // Floats of a centroid row per lane: 16 (64 bytes, 8 lanes per 512-byte
  // row: 3 shuffle steps) when D allows it, else one 16-byte load.
  // (windowed RoPE keeps 4 per lane: the per-dim rotation code would spill.)
  const int64_t PL = laneFloats;
  const int64_t T = 128, lanes = s.D / PL, NG = T / lanes, G = s.G();
  std::map<std::string, std::string> vars = {
      {"NAME", name.str()}, {"B", str(s.B)},     {"HQ", str(s.Hq)},
      {"H", str(s.H)},      {"D", str(s.D)},     {"E", s.elt},
      {"G", str(G)},        {"C", str(C)},       {"S", str(csplits)},
      {"T", str(T)},        {"LANES", str(lanes)}, {"NG", str(NG)},
      {"NGG", str(NG * G)}, {"P", str(scorePos)}, {"HALF", str(lanes / 2)},
      {"QV", str(PL)}, {"PL", str(PL)}, {"UNG", str(NG * 4)}, {"S2", str(ssplits)}, {"G2", str(2 * G)}};
  std::string t;
  llvm::raw_string_ostream os(t);
  os << R"(gpu.func @$NAME_logits(%q: memref<$Bx$HQx$Dx$E>, %cent: memref<$Bx$Hx$Cx$Dxf32>,
    %cnt: memref<$Bx$Hx$Cxi32>, %st: memref<$Bx$Hx4xi32>, %lens: memref<$Bxi32>,
    %logits: memref<$Bx$HQx$Cxf32>, %part: memref<$Bx$HQx$Sx2xf32>, %scale: f32)
    workgroup(%sm: memref<$NGGxf32, #gpu.address_space<workgroup>>,
              %ss: memref<$NGGxf32, #gpu.address_space<workgroup>>)
    kernel attributes {known_block_size = array<i32: $T, 1, 1>} {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant $PL : index
  %c0i = arith.constant 0 : i32
  %c32i = arith.constant 32 : i32
  %zf = arith.constant 0.0 : f32
  %ninf = arith.constant 0xFF800000 : f32
  %cLANES = arith.constant $LANES : index
  %cNG = arith.constant $NG : index
  %cS = arith.constant $S : index
  %cG = arith.constant $G : index
  %cT = arith.constant $T : index
  %split = gpu.block_id x
  %h = gpu.block_id y
  %b = gpu.block_id z
  %tid = gpu.thread_id x
  %grp = arith.divui %tid, %cLANES : index
  %sub = arith.remui %tid, %cLANES : index
  %d0 = arith.muli %sub, %c4 : index
  %nci = memref.load %st[%b, %h, %c0] : memref<$Bx$Hx4xi32>
  %nc0 = arith.index_cast %nci : i32 to index
  %cC = arith.constant $C : index
  %nc = arith.minui %nc0, %cC : index
  %chunk = arith.ceildivui %nc, %cS : index
  %lo0 = arith.muli %split, %chunk : index
  %lo = arith.minui %lo0, %nc : index
  %hi0 = arith.addi %lo, %chunk : index
  %hi = arith.minui %hi0, %nc : index
  %len = arith.subi %hi, %lo : index
  // Uniform trip count per warp (row reductions are shuffles over all lanes).
  %cUNG = arith.constant $UNG : index
  %trip = arith.ceildivui %len, %cUNG : index
  %lo_g = arith.addi %lo, %grp : index
  %onef = arith.constant 1.0 : f32
)";
  // Scoring query: rot(q, P - (n - 1)), PL dims per lane; the RoPE partner
  // dims (d +- D/2) live HALF lanes away.
  if (theta > 0) {
    os << R"(  %li = memref.load %lens[%b] : memref<$Bxi32>
  %lf = arith.sitofp %li : i32 to f64
  %one = arith.constant 1.0 : f64
  %qpos = arith.subf %lf, %one : f64
  %Pf = arith.constant $P.0 : f64
  %rot = arith.subf %Pf, %qpos : f64
  %cHALF = arith.constant $HALF : index
  %second = arith.cmpi uge, %sub, %cHALF : index
  %lnth = arith.constant )" << fstr(std::log(theta)) << R"( : f64
  %cDf = arith.constant $D.0 : f64
  %mtwo = arith.constant -2.0 : f64
)";
  }
  for (int64_t g = 0; g < G; ++g) {
    std::string gs = str(g);
    os << "  %qi" << gs << " = arith.constant " << gs << " : index\n"
       << "  %hG" << gs << " = arith.muli %h, %cG : index\n"
       << "  %qh" << gs << " = arith.addi %hG" << gs << ", %qi" << gs << " : index\n"
       << "  %qr" << gs << " = vector.load %q[%b, %qh" << gs
       << ", %d0] : memref<$Bx$HQx$Dx$E>, vector<$PLx$E>\n";
    if (s.elt == "f32")
      os << "  %qf" << gs << " = arith.addf %qr" << gs << ", %qr" << gs
         << " : vector<$PLxf32>\n  %qhalfv" << gs << " = arith.constant dense<0.5> : vector<$PLxf32>\n"
         << "  %qq" << gs << " = arith.mulf %qf" << gs << ", %qhalfv" << gs << " : vector<$PLxf32>\n";
    else
      os << "  %qq" << gs << " = arith.extf %qr" << gs << " : vector<$PLx$E> to vector<$PLxf32>\n";
    if (theta > 0) {
      // Partner chunk via shuffle, then rotate each of the 4 dims.
      std::string acc = "%qz" + gs;
      os << "  %qz" << gs << " = arith.constant dense<0.0> : vector<$PLxf32>\n";
      for (int e = 0; e < PL; ++e) {
        std::string es = gs + "_" + str(e);
        os << "  %xe" << es << " = vector.extract %qq" << gs << "[" << e << "] : f32 from vector<$PLxf32>\n"
           << "  %hoff" << es << " = arith.constant $HALF : i32\n"
           << "  %pe" << es << ", %pok" << es << " = gpu.shuffle xor %xe" << es
           << ", %hoff" << es << ", %c32i : f32\n"
           << "  %de" << es << " = arith.addi %d0, %c" << e << "_idx : index\n";
        (void)acc;
      }
    }
  }
  if (theta > 0) {
    // Build the rotated query per head.
    std::string pre;
    for (int e = 0; e < PL; ++e)
      pre += "  %c" + str(e) + "_idx = arith.constant " + str(e) + " : index\n";
    // insert index constants at the top of the theta block
    t.insert(t.find("  %li = memref.load %lens"), pre);
    for (int64_t g = 0; g < G; ++g) {
      std::string gs = str(g);
      std::string cur = "%qz" + gs;
      for (int e = 0; e < PL; ++e) {
        std::string es = gs + "_" + str(e);
        os << "  %dhalf" << es << " = arith.constant $HALF : index\n"
           << "  %ii" << es << " = arith.remui %de" << es << ", %cD2_" << es << " : index\n";
        // i = d mod (D/2); w = theta^(-2i/D)
        os << "  %iii" << es << " = arith.index_cast %ii" << es << " : index to i64\n"
           << "  %iif" << es << " = arith.sitofp %iii" << es << " : i64 to f64\n"
           << "  %ex0" << es << " = arith.mulf %mtwo, %iif" << es << " : f64\n"
           << "  %ex1" << es << " = arith.divf %ex0" << es << ", %cDf : f64\n"
           << "  %ex2" << es << " = arith.mulf %ex1" << es << ", %lnth : f64\n"
           << "  %w" << es << " = math.exp %ex2" << es << " : f64\n"
           << "  %ang" << es << " = arith.mulf %rot, %w" << es << " : f64\n"
           << "  %cs64" << es << " = math.cos %ang" << es << " : f64\n"
           << "  %sn64" << es << " = math.sin %ang" << es << " : f64\n"
           << "  %cs" << es << " = arith.truncf %cs64" << es << " : f64 to f32\n"
           << "  %sn" << es << " = arith.truncf %sn64" << es << " : f64 to f32\n"
           << "  %nsn" << es << " = arith.negf %sn" << es << " : f32\n"
           << "  %sg" << es << " = arith.select %second, %sn" << es << ", %nsn" << es << " : f32\n"
           << "  %y0" << es << " = arith.mulf %xe" << es << ", %cs" << es << " : f32\n"
           << "  %y" << es << " = math.fma %pe" << es << ", %sg" << es << ", %y0" << es << " : f32\n"
           << "  %qv" << es << " = vector.insert %y" << es << ", " << cur << " [" << e
           << "] : f32 into vector<$PLxf32>\n";
        cur = "%qv" + es;
      }
      os << "  %qs" << gs << " = arith.addf " << cur << ", %qz" << gs << " : vector<$PLxf32>\n";
    }
    // D/2 constants used by remui
    std::string cd2;
    for (int64_t g = 0; g < G; ++g)
      for (int e = 0; e < PL; ++e)
        cd2 += "  %cD2_" + str(g) + "_" + str(e) + " = arith.constant " +
               str(s.D / 2) + " : index\n";
    t.insert(t.find("  %li = memref.load %lens"), cd2);
  } else {
    for (int64_t g = 0; g < G; ++g)
      os << "  %qs" << g << " = arith.addf %qq" << g << ", %qq" << g
         << " : vector<$PLxf32>\n"
         << "  %qhalf" << g << " = arith.constant dense<0.5> : vector<$PLxf32>\n"
         << "  %qt" << g << " = arith.mulf %qs" << g << ", %qhalf" << g
         << " : vector<$PLxf32>\n";
  }
  auto qname = [&](int64_t g) {
    return theta > 0 ? "%qs" + str(g) : "%qt" + str(g);
  };
  // Cluster loop, U rows per group per iteration (loads first): logits and
  // the online (max, sum n exp) for each head.
  const int64_t U = 4;
  os << "  %res:" << 2 * G
     << " = scf.for %it = %c0 to %trip step %c1 iter_args(";
  for (int64_t g = 0; g < G; ++g)
    os << (g ? ", " : "") << "%m" << g << " = %ninf, %s" << g << " = %zf";
  os << ") -> (";
  for (int64_t g = 0; g < G; ++g)
    os << (g ? ", " : "") << "f32, f32";
  os << ") {\n"
        "    %itu = arith.muli %it, %cUNG : index\n"
        "    %base = arith.addi %lo_g, %itu : index\n"
        "    %islead = arith.cmpi eq, %sub, %c0 : index\n";
  for (int64_t u = 0; u < U; ++u) {
    std::string us = str(u);
    os << "    %uo" << us << " = arith.constant " << u << " : index\n"
       << "    %uoff" << us << " = arith.muli %uo" << us << ", %cNG : index\n"
       << "    %c_0" << us << " = arith.addi %base, %uoff" << us << " : index\n"
       << "    %valid" << us << " = arith.cmpi ult, %c_0" << us << ", %hi : index\n"
       << "    %cl" << us << " = arith.select %valid" << us << ", %c_0" << us << ", %lo : index\n"
       << "    %row" << us << " = vector.load %cent[%b, %h, %cl" << us
       << ", %d0] {alignment = 16} : memref<$Bx$Hx$Cx$Dxf32>, vector<$PLxf32>\n"
       << "    %cn" << us << " = memref.load %cnt[%b, %h, %cl" << us << "] : memref<$Bx$Hx$Cxi32>\n"
       << "    %ne0" << us << " = arith.cmpi sgt, %cn" << us << ", %c0i : i32\n"
       << "    %ne" << us << " = arith.andi %ne0" << us << ", %valid" << us << " : i1\n"
       << "    %cnf" << us << " = arith.sitofp %cn" << us << " : i32 to f32\n"
       << "    %lead" << us << " = arith.andi %islead, %valid" << us << " : i1\n";
  }
  for (int64_t g = 0; g < G; ++g) {
    std::string gs = str(g);
    std::string mcur = "%m" + gs;
    for (int64_t u = 0; u < U; ++u) {
      std::string gu = gs + "_" + str(u), us = str(u);
      os << "    %pr" << gu << " = arith.mulf " << qname(g) << ", %row" << us
         << " : vector<$PLxf32>\n"
         << "    %ps" << gu << " = vector.reduction <add>, %pr" << gu
         << " : vector<$PLxf32> into f32\n";
      std::string cur = "%ps" + gu;
      int step = 0;
      for (int64_t off = lanes / 2; off >= 1; off /= 2, ++step) {
        std::string o = "%o" + gu + "_" + str(step), sh = "%sh" + gu + "_" + str(step),
                    nx = "%r" + gu + "_" + str(step);
        os << "    " << o << " = arith.constant " << off << " : i32\n"
           << "    " << sh << ", " << sh << "ok = gpu.shuffle xor " << cur << ", " << o
           << ", %c32i : f32\n"
           << "    " << nx << " = arith.addf " << cur << ", " << sh << " : f32\n";
        cur = nx;
      }
      os << "    %x" << gu << " = arith.mulf " << cur << ", %scale : f32\n"
         << "    scf.if %lead" << us << " {\n"
         << "      memref.store %x" << gu << ", %logits[%b, %qh" << gs
         << ", %cl" << us << "] : memref<$Bx$HQx$Cxf32>\n    }\n"
         << "    %xm" << gu << " = arith.select %ne" << us << ", %x" << gu << ", %ninf : f32\n"
         << "    %mx" << gu << " = arith.maximumf " << mcur << ", %xm" << gu << " : f32\n";
      mcur = "%mx" + gu;
    }
    os << "    %mn" << gs << " = arith.addf " << mcur << ", %zf : f32\n"
       << "    %none" << gs << " = arith.cmpf oeq, %mn" << gs << ", %ninf : f32\n"
       << "    %dm" << gs << " = arith.subf %m" << gs << ", %mn" << gs << " : f32\n"
       << "    %fe" << gs << " = math.exp %dm" << gs << " : f32\n"
       << "    %f" << gs << " = arith.select %none" << gs << ", %onef, %fe" << gs << " : f32\n"
       << "    %sf" << gs << " = arith.mulf %s" << gs << ", %f" << gs << " : f32\n";
    std::string scur = "%sf" + gs;
    for (int64_t u = 0; u < U; ++u) {
      std::string gu = gs + "_" + str(u), us = str(u);
      os << "    %dx" << gu << " = arith.subf %xm" << gu << ", %mn" << gs << " : f32\n"
         << "    %ee" << gu << " = math.exp %dx" << gu << " : f32\n"
         << "    %we" << gu << " = arith.mulf %cnf" << us << ", %ee" << gu << " : f32\n"
         << "    %wz" << gu << " = arith.select %ne" << us << ", %we" << gu << ", %zf : f32\n"
         << "    %sa" << gu << " = arith.addf " << scur << ", %wz" << gu << " : f32\n";
      scur = "%sa" + gu;
    }
    os << "    %sn" << gs << " = arith.addf " << scur << ", %zf : f32\n";
  }
  os << "    scf.yield ";
  for (int64_t g = 0; g < G; ++g)
    os << (g ? ", " : "") << "%mn" << g << ", %sn" << g;
  os << " : ";
  for (int64_t g = 0; g < G; ++g)
    os << (g ? ", " : "") << "f32, f32";
  os << "\n  }\n";
  // Combine the groups' (m, s) per head and write this split's pair.
  os << "  %isLead = arith.cmpi eq, %sub, %c0 : index\n"
        "  %gG = arith.muli %grp, %cG : index\n";
  for (int64_t g = 0; g < G; ++g) {
    os << "  %slot" << g << " = arith.addi %gG, %qi" << g << " : index\n"
       << "  scf.if %isLead {\n"
       << "    memref.store %res#" << 2 * g << ", %sm[%slot" << g
       << "] : memref<$NGGxf32, #gpu.address_space<workgroup>>\n"
       << "    memref.store %res#" << 2 * g + 1 << ", %ss[%slot" << g
       << "] : memref<$NGGxf32, #gpu.address_space<workgroup>>\n  }\n";
  }
  os << R"(  gpu.barrier
  %inG = arith.cmpi ult, %tid, %cG : index
  scf.if %inG {
    %M = scf.for %r = %c0 to %cNG step %c1 iter_args(%mx = %ninf) -> (f32) {
      %rG = arith.muli %r, %cG : index
      %sl0 = arith.addi %rG, %tid : index
      %mr = memref.load %sm[%sl0] : memref<$NGGxf32, #gpu.address_space<workgroup>>
      %sr = memref.load %ss[%sl0] : memref<$NGGxf32, #gpu.address_space<workgroup>>
      %has = arith.cmpf ogt, %sr, %zf : f32
      %mm = arith.maximumf %mx, %mr : f32
      %nm = arith.select %has, %mm, %mx : f32
      scf.yield %nm : f32
    }
    %Z = scf.for %r = %c0 to %cNG step %c1 iter_args(%zs = %zf) -> (f32) {
      %rG = arith.muli %r, %cG : index
      %sl0 = arith.addi %rG, %tid : index
      %mr = memref.load %sm[%sl0] : memref<$NGGxf32, #gpu.address_space<workgroup>>
      %sr = memref.load %ss[%sl0] : memref<$NGGxf32, #gpu.address_space<workgroup>>
      %has = arith.cmpf ogt, %sr, %zf : f32
      %dd = arith.subf %mr, %M : f32
      %ee = math.exp %dd : f32
      %w = arith.mulf %sr, %ee : f32
      %wz = arith.select %has, %w, %zf : f32
      %z2 = arith.addf %zs, %wz : f32
      scf.yield %z2 : f32
    }
    %hG = arith.muli %h, %cG : index
    %qh = arith.addi %hG, %tid : index
    memref.store %M, %part[%b, %qh, %split, %c0] : memref<$Bx$HQx$Sx2xf32>
    memref.store %Z, %part[%b, %qh, %split, %c1] : memref<$Bx$HQx$Sx2xf32>
  }
  gpu.return
}

gpu.func @$NAME_scores(%cnt: memref<$Bx$Hx$Cxi32>, %st: memref<$Bx$Hx4xi32>,
    %logits: memref<$Bx$HQx$Cxf32>, %part: memref<$Bx$HQx$Sx2xf32>,
    %r: memref<$Bx$Hx$Cxf32>)
    workgroup(%smz: memref<$G2xf32, #gpu.address_space<workgroup>>)
    kernel attributes {known_block_size = array<i32: 256, 1, 1>} {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c0i = arith.constant 0 : i32
  %cS = arith.constant $S : index
  %cG = arith.constant $G : index
  %cC = arith.constant $C : index
  %c256 = arith.constant 256 : index
  %zf = arith.constant 0.0 : f32
  %mone = arith.constant -1.0 : f32
  %ninf = arith.constant 0xFF800000 : f32
  %sp = gpu.block_id x
  %h = gpu.block_id y
  %b = gpu.block_id z
  %tid = gpu.thread_id x
  // This CTA's clusters (the scores are split over CTAs like the logits).
  %cS2 = arith.constant $S2 : index
  %ch2 = arith.ceildivui %cC, %cS2 : index
  %lo2a = arith.muli %sp, %ch2 : index
  %lo2 = arith.minui %lo2a, %cC : index
  %hi2a = arith.addi %lo2, %ch2 : index
  %hi2 = arith.minui %hi2a, %cC : index
  %start2 = arith.addi %lo2, %tid : index
  %nci = memref.load %st[%b, %h, %c0] : memref<$Bx$Hx4xi32>
  %nc = arith.index_cast %nci : i32 to index
  %hG = arith.muli %h, %cG : index
)";
  // Z per head from the logits kernel's per-split (max, sum) pairs: warp w
  // merges head w (lanes over splits, shuffle reductions), shares it through
  // shared memory. (Each thread walking all splits serially cost ~30 us.)
  os << "  %c32x = arith.constant 32 : index\n"
        "  %c32i = arith.constant 32 : i32\n"
        "  %lanex = arith.remui %tid, %c32x : index\n"
        "  %warpx = arith.divui %tid, %c32x : index\n";
  for (int64_t g = 0; g < G; ++g) {
    std::string gs = str(g);
    os << "  %qh" << gs << " = arith.addi %hG, %c" << gs << "g : index\n"
       << "  %mine" << gs << " = arith.cmpi eq, %warpx, %c" << (g % 8) << "g : index\n"
       << "  scf.if %mine" << gs << " {\n"
       << "    %lm = scf.for %s = %lanex to %cS step %c32x iter_args(%mx = %ninf) -> (f32) {\n"
       << "      %mr = memref.load %part[%b, %qh" << gs << ", %s, %c0] : memref<$Bx$HQx$Sx2xf32>\n"
       << "      %sr = memref.load %part[%b, %qh" << gs << ", %s, %c1] : memref<$Bx$HQx$Sx2xf32>\n"
       << "      %has = arith.cmpf ogt, %sr, %zf : f32\n"
       << "      %mm = arith.maximumf %mx, %mr : f32\n"
       << "      %nm = arith.select %has, %mm, %mx : f32\n"
       << "      scf.yield %nm : f32\n    }\n";
    std::string cur = "%lm";
    for (int off = 16, k = 0; off >= 1; off /= 2, ++k) {
      std::string n = std::to_string(k);
      os << "    %mo" << n << " = arith.constant " << off << " : i32\n"
         << "    %ms" << n << ", %msok" << n << " = gpu.shuffle xor " << cur << ", %mo" << n
         << ", %c32i : f32\n"
         << "    %mr" << n << " = arith.maximumf " << cur << ", %ms" << n << " : f32\n";
      cur = "%mr" + n;
    }
    os << "    %lz = scf.for %s = %lanex to %cS step %c32x iter_args(%zs = %zf) -> (f32) {\n"
       << "      %mr = memref.load %part[%b, %qh" << gs << ", %s, %c0] : memref<$Bx$HQx$Sx2xf32>\n"
       << "      %sr = memref.load %part[%b, %qh" << gs << ", %s, %c1] : memref<$Bx$HQx$Sx2xf32>\n"
       << "      %has = arith.cmpf ogt, %sr, %zf : f32\n"
       << "      %dd = arith.subf %mr, " << cur << " : f32\n"
       << "      %ee = math.exp %dd : f32\n"
       << "      %w = arith.mulf %sr, %ee : f32\n"
       << "      %wz = arith.select %has, %w, %zf : f32\n"
       << "      %z2 = arith.addf %zs, %wz : f32\n"
       << "      scf.yield %z2 : f32\n    }\n";
    std::string zc = "%lz";
    for (int off = 16, k = 0; off >= 1; off /= 2, ++k) {
      std::string n = std::to_string(k);
      os << "    %zo" << n << " = arith.constant " << off << " : i32\n"
         << "    %zsh" << n << ", %zok" << n << " = gpu.shuffle xor " << zc << ", %zo" << n
         << ", %c32i : f32\n"
         << "    %zr" << n << " = arith.addf " << zc << ", %zsh" << n << " : f32\n";
      zc = "%zr" + n;
    }
    os << "    %l0 = arith.cmpi eq, %lanex, %c0 : index\n"
       << "    scf.if %l0 {\n"
       << "      memref.store " << cur << ", %smz[%c" << gs << "g] : memref<$G2xf32, #gpu.address_space<workgroup>>\n"
       << "      %zi = arith.addi %c" << gs << "g, %cG : index\n"
       << "      memref.store " << zc << ", %smz[%zi] : memref<$G2xf32, #gpu.address_space<workgroup>>\n"
       << "    }\n  }\n";
  }
  os << "  gpu.barrier\n";
  for (int64_t g = 0; g < G; ++g) {
    std::string gs = str(g);
    os << "  %M" << gs << " = memref.load %smz[%c" << gs << "g] : memref<$G2xf32, #gpu.address_space<workgroup>>\n"
       << "  %zx" << gs << " = arith.addi %c" << gs << "g, %cG : index\n"
       << "  %Z" << gs << " = memref.load %smz[%zx" << gs << "] : memref<$G2xf32, #gpu.address_space<workgroup>>\n";
  }
  std::string gconsts;
  for (int64_t g = 0; g < std::max<int64_t>(G, 8); ++g)
    gconsts += "  %c" + str(g) + "g = arith.constant " + str(g) + " : index\n";
  t.insert(t.find("  %sp = gpu.block_id x"), gconsts);
  os << R"(  scf.for %c = %start2 to %hi2 step %c256 {
    %in = arith.cmpi ult, %c, %nc : index
    %cn = memref.load %cnt[%b, %h, %c] : memref<$Bx$Hx$Cxi32>
    %ne = arith.cmpi sgt, %cn, %c0i : i32
    %live = arith.andi %in, %ne : i1
)";
  std::string acc = "%zf";
  for (int64_t g = 0; g < G; ++g) {
    std::string gs = str(g);
    os << "    %a" << gs << " = memref.load %logits[%b, %qh" << gs << ", %c] : memref<$Bx$HQx$Cxf32>\n"
       << "    %d" << gs << " = arith.subf %a" << gs << ", %M" << gs << " : f32\n"
       << "    %e" << gs << " = math.exp %d" << gs << " : f32\n"
       << "    %p" << gs << " = arith.divf %e" << gs << ", %Z" << gs << " : f32\n"
       << "    %acc" << gs << " = arith.addf " << acc << ", %p" << gs << " : f32\n";
    acc = "%acc" + gs;
  }
  os << "    %rv = arith.select %live, " << acc << ", %mone : f32\n"
     << "    memref.store %rv, %r[%b, %h, %c] : memref<$Bx$Hx$Cxf32>\n"
     << "    %out = arith.cmpi uge, %c, %nc : index\n"
     << "    scf.if %out {\n";
  for (int64_t g = 0; g < G; ++g)
    os << "      memref.store %ninf, %logits[%b, %qh" << g << ", %c] : memref<$Bx$HQx$Cxf32>\n";
  os << "    }\n  }\n  gpu.return\n}\n";
  return subst(t, vars);
}

std::string mlir::multipole::gpugen::selectKernel(llvm::StringRef name,
                                                  int64_t B, int64_t H,
                                                  int64_t C,
                                                  int64_t budgetTokens,
                                                  double budgetFrac,
                                                  bool hasParent,
                                                  int64_t Cparent,
                                                  bool chunkBases,
                                                  int64_t nch) {
  std::map<std::string, std::string> vars = {
      {"NAME", name.str()}, {"B", str(B)}, {"H", str(H)}, {"C", str(C)},
      {"CP", str(Cparent)}, {"BT", str(budgetTokens)},
      {"BF", fstr(budgetFrac)}, {"CPT", str(selectChunk(C, nch))},
      {"NCH", str(nch)}, {"NCH1", str(nch + 1)}, {"NCHm1", str(nch - 1)}};
  std::string t = R"(gpu.func @$NAME(%r: memref<$Bx$Hx$Cxf32>, %cnt: memref<$Bx$Hx$Cxi32>,
    %st: memref<$Bx$Hx4xi32>, )";
  if (hasParent)
    t += "%pa: memref<$Bx$Hx$Cxi32>, %ps: memref<$Bx$Hx$CPxi8>, ";
  if (chunkBases)
    t += "%cbase: memref<$Bx$Hx$NCH1xi32>, ";
  t += R"(%sel: memref<$Bx$Hx$Cxi8>)
    workgroup(%hist: memref<8192xi32, #gpu.address_space<workgroup>>,
              %sh: memref<4xi64, #gpu.address_space<workgroup>>,
              %sfx: memref<256xi32, #gpu.address_space<workgroup>>)
    kernel attributes {known_block_size = array<i32: 1024, 1, 1>} {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c3 = arith.constant 3 : index
  %c4 = arith.constant 4 : index
  %c255 = arith.constant 255 : index
  %c256 = arith.constant 256 : index
  %cTH = arith.constant 1024 : index
  %cC = arith.constant $C : index
  %c0i = arith.constant 0 : i32
  %c0l = arith.constant 0 : i64
  %c0i8 = arith.constant 0 : i8
  %c1i8 = arith.constant 1 : i8
  %true_ = arith.constant true
  %c255i = arith.constant 255 : i32
  %h = gpu.block_id x
  %b = gpu.block_id y
  %tid = gpu.thread_id x
  %c32 = arith.constant 32 : index
  %c8w = arith.constant 32 : index
  %c8s = arith.constant 8 : index
  %c2048 = arith.constant 8192 : index
  %warp = arith.divui %tid, %c32 : index
  %nci = memref.load %st[%b, %h, %c0] : memref<$Bx$Hx4xi32>
  %nc = arith.index_cast %nci : i32 to index
  %lci = memref.load %st[%b, %h, %c1] : memref<$Bx$Hx4xi32>
  %btok = arith.constant $BT : i64
  %bfrac = arith.constant $BF : f64
  %lcf = arith.sitofp %lci : i32 to f64
  %tf = arith.mulf %bfrac, %lcf : f64
  %tfl = math.floor %tf : f64
  %tfi = arith.fptosi %tfl : f64 to i64
  %useTok = arith.cmpi sge, %btok, %c0l : i64
  %T = arith.select %useTok, %btok, %tfi : i64
  %t0 = arith.cmpi eq, %tid, %c0 : index
  scf.if %t0 {
    memref.store %c0l, %sh[%c0] : memref<4xi64, #gpu.address_space<workgroup>>
  }
  gpu.barrier
  // Eligibility into the mask, total eligible tokens: summed per thread, then
  // per warp with shuffles, then one shared-memory atomic per warp (a single
  // shared counter hit by every cluster would serialise thousands of atomics).
  %mysum = scf.for %c = %tid to %cC step %cTH iter_args(%acc = %c0i) -> (i32) {
    %in = arith.cmpi ult, %c, %nc : index
    %cn = memref.load %cnt[%b, %h, %c] : memref<$Bx$Hx$Cxi32>
    %ne = arith.cmpi sgt, %cn, %c0i : i32
    %e0 = arith.andi %in, %ne : i1
)";
  if (hasParent)
    t += parentSelectedText("", "%c", "$C") + "    %el = arith.andi %e0, %pe : i1\n";
  else
    t += "    %el = arith.andi %e0, %e0 : i1\n";
  t += R"(    %mv = arith.select %el, %c1i8, %c0i8 : i8
    memref.store %mv, %sel[%b, %h, %c] : memref<$Bx$Hx$Cxi8>
    %add = arith.select %el, %cn, %c0i : i32
    %acc2 = arith.addi %acc, %add : i32
    scf.yield %acc2 : i32
  }
  %w32 = arith.constant 32 : i32
  %o16 = arith.constant 16 : i32
  %o8 = arith.constant 8 : i32
  %o4 = arith.constant 4 : i32
  %o2 = arith.constant 2 : i32
  %o1 = arith.constant 1 : i32
  %r16, %v16 = gpu.shuffle xor %mysum, %o16, %w32 : i32
  %s16 = arith.addi %mysum, %r16 : i32
  %r8, %v8 = gpu.shuffle xor %s16, %o8, %w32 : i32
  %s8 = arith.addi %s16, %r8 : i32
  %r4, %v4 = gpu.shuffle xor %s8, %o4, %w32 : i32
  %s4 = arith.addi %s8, %r4 : i32
  %r2, %v2 = gpu.shuffle xor %s4, %o2, %w32 : i32
  %s2 = arith.addi %s4, %r2 : i32
  %r1, %v1 = gpu.shuffle xor %s2, %o1, %w32 : i32
  %wsum = arith.addi %s2, %r1 : i32
  %lane = arith.remui %tid, %c32 : index
  %lane0 = arith.cmpi eq, %lane, %c0 : index
  scf.if %lane0 {
    %w64 = arith.extsi %wsum : i32 to i64
    %old = memref.atomic_rmw addi %w64, %sh[%c0] : (i64, memref<4xi64, #gpu.address_space<workgroup>>) -> i64
  }
  gpu.barrier
  %total = memref.load %sh[%c0] : memref<4xi64, #gpu.address_space<workgroup>>
  %over = arith.cmpi sgt, %total, %T : i64
)";
  // With at most 16 clusters per thread, a thread keeps its clusters' keys
  // and weights in registers for the 4 passes (no global loads per pass).
  const int64_t R = (C + 1023) / 1024;
  const bool inRegs = R <= 16;
  if (inRegs)
    for (int64_t k = 0; k < R; ++k) {
      std::string n = str(k);
      t += "  %rk" + n + "o = arith.constant " + str(k * 1024) + " : index\n"
           "  %rk" + n + "c = arith.addi %tid, %rk" + n + "o : index\n"
           "  %rk" + n + "in = arith.cmpi ult, %rk" + n + "c, %cC : index\n"
           "  %rk" + n + "l = arith.constant " + str(C - 1) + " : index\n"
           "  %rk" + n + "cc = arith.minui %rk" + n + "c, %rk" + n + "l : index\n"
           "  %rk" + n + "ev = memref.load %sel[%b, %h, %rk" + n + "cc] : memref<$Bx$Hx$Cxi8>\n"
           "  %rk" + n + "rv = memref.load %r[%b, %h, %rk" + n + "cc] : memref<$Bx$Hx$Cxf32>\n"
           "  %rk" + n + "cn = memref.load %cnt[%b, %h, %rk" + n + "cc] : memref<$Bx$Hx$Cxi32>\n"
           "  %rk" + n + "e0 = arith.cmpi ne, %rk" + n + "ev, %c0i8 : i8\n"
           "  %rk" + n + "el = arith.andi %rk" + n + "e0, %rk" + n + "in : i1\n"
           "  %rk" + n + "key = arith.bitcast %rk" + n + "rv : f32 to i32\n"
           "  %rk" + n + "w = arith.select %rk" + n + "el, %rk" + n + "cn, %c0i : i32\n";
    }
  t += R"(  scf.if %over {
    // Radix select of the threshold key: 4 passes over 8-bit digits of the
    // (positive) score bits, from the top, weighted by counts.
    %res:3 = scf.for %pass = %c0 to %c4 step %c1 iter_args(%prefix = %c0i, %mask = %c0i, %budget = %T) -> (i32, i32, i64) {
      %p3 = arith.subi %c3, %pass : index
      %p8 = arith.muli %p3, %c4 : index
      %p82 = arith.muli %p8, %c2 : index
      %shift = arith.index_cast %p82 : index to i32
      // One histogram per warp (8 x 256 bins): scores of neighbouring
      // clusters share their top bits, so one shared histogram serialises.
      scf.for %i = %tid to %c2048 step %cTH {
        memref.store %c0i, %hist[%i] : memref<8192xi32, #gpu.address_space<workgroup>>
      }
      gpu.barrier
      // Each thread merges runs of equal digits before touching shared
      // memory (neighbouring clusters mostly share their top digits).
)";
  if (inRegs) {
    t += "      %cm1 = arith.constant -1 : i32\n";
    std::string rd = "%cm1", rs = "%c0i";
    for (int64_t k = 0; k < R; ++k) {
      std::string n = str(k), p = "%pk" + n;
      t += "      " + p + "km = arith.andi %rk" + n + "key, %mask : i32\n"
           "      " + p + "match = arith.cmpi eq, " + p + "km, %prefix : i32\n"
           "      " + p + "pos = arith.cmpi sgt, %rk" + n + "w, %c0i : i32\n"
           "      " + p + "go = arith.andi " + p + "pos, " + p + "match : i1\n"
           "      " + p + "dg0 = arith.shrui %rk" + n + "key, %shift : i32\n"
           "      " + p + "dg = arith.andi " + p + "dg0, %c255i : i32\n"
           "      " + p + "same = arith.cmpi eq, " + p + "dg, " + rd + " : i32\n"
           "      " + p + "f0 = arith.cmpi ne, " + rd + ", %cm1 : i32\n"
           "      " + p + "diff = arith.xori " + p + "same, %true_ : i1\n"
           "      " + p + "f1 = arith.andi " + p + "f0, " + p + "diff : i1\n"
           "      " + p + "flush = arith.andi " + p + "f1, " + p + "go : i1\n"
           "      scf.if " + p + "flush {\n"
           "        " + p + "di = arith.index_cast " + rd + " : i32 to index\n"
           "        " + p + "wb = arith.muli %warp, %c256 : index\n"
           "        " + p + "hi = arith.addi " + p + "wb, " + p + "di : index\n"
           "        " + p + "old = memref.atomic_rmw addi " + rs + ", %hist[" + p + "hi] : (i32, memref<8192xi32, #gpu.address_space<workgroup>>) -> i32\n"
           "      }\n"
           "      " + p + "keep = arith.andi " + p + "go, " + p + "same : i1\n"
           "      " + p + "rsk = arith.addi " + rs + ", %rk" + n + "w : i32\n"
           "      " + p + "nd = arith.select " + p + "go, " + p + "dg, " + rd + " : i32\n"
           "      " + p + "ns0 = arith.select " + p + "keep, " + p + "rsk, %rk" + n + "w : i32\n"
           "      " + p + "ns = arith.select " + p + "go, " + p + "ns0, " + rs + " : i32\n";
      rd = p + "nd";
      rs = p + "ns";
    }
    t += "      %run:2 = scf.execute_region -> (i32, i32) {\n"
         "        scf.yield " + rd + ", " + rs + " : i32, i32\n      }\n";
  } else {
    t += R"(      %cm1 = arith.constant -1 : i32
      %run:2 = scf.for %c = %tid to %cC step %cTH iter_args(%rd = %cm1, %rs = %c0i) -> (i32, i32) {
        %ev = memref.load %sel[%b, %h, %c] : memref<$Bx$Hx$Cxi8>
        %el = arith.cmpi ne, %ev, %c0i8 : i8
        %rv = memref.load %r[%b, %h, %c] : memref<$Bx$Hx$Cxf32>
        %key = arith.bitcast %rv : f32 to i32
        %km = arith.andi %key, %mask : i32
        %match = arith.cmpi eq, %km, %prefix : i32
        %go = arith.andi %el, %match : i1
        %dg0 = arith.shrui %key, %shift : i32
        %dg = arith.andi %dg0, %c255i : i32
        %cn = memref.load %cnt[%b, %h, %c] : memref<$Bx$Hx$Cxi32>
        %same = arith.cmpi eq, %dg, %rd : i32
        %flush0 = arith.cmpi ne, %rd, %cm1 : i32
        %diff = arith.xori %same, %true_ : i1
        %flush1 = arith.andi %flush0, %diff : i1
        %flush = arith.andi %flush1, %go : i1
        scf.if %flush {
          %di = arith.index_cast %rd : i32 to index
          %wbase = arith.muli %warp, %c256 : index
          %hi_ = arith.addi %wbase, %di : index
          %old = memref.atomic_rmw addi %rs, %hist[%hi_] : (i32, memref<8192xi32, #gpu.address_space<workgroup>>) -> i32
        }
        %keep = arith.andi %go, %same : i1
        %rs_keep = arith.addi %rs, %cn : i32
        %nd = arith.select %go, %dg, %rd : i32
        %ns0 = arith.select %keep, %rs_keep, %cn : i32
        %ns = arith.select %go, %ns0, %rs : i32
        scf.yield %nd, %ns : i32, i32
      }
)";
  }
  t += R"(      %pend = arith.cmpi ne, %run#0, %cm1 : i32
      scf.if %pend {
        %di = arith.index_cast %run#0 : i32 to index
        %wbase = arith.muli %warp, %c256 : index
        %hi_ = arith.addi %wbase, %di : index
        %old = memref.atomic_rmw addi %run#1, %hist[%hi_] : (i32, memref<8192xi32, #gpu.address_space<workgroup>>) -> i32
      }
      gpu.barrier
      // Suffix sums over the 256 bins (sum of the 8 warp histograms), then
      // the one bin where the weight from the top first exceeds the budget.
      %inBins = arith.cmpi ult, %tid, %c256 : index
      %tbin = arith.minui %tid, %c255 : index
      %tb0 = scf.for %w = %c0 to %c8w step %c1 iter_args(%acc = %c0i) -> (i32) {
        %wb = arith.muli %w, %c256 : index
        %wi = arith.addi %wb, %tbin : index
        %hw = memref.load %hist[%wi] : memref<8192xi32, #gpu.address_space<workgroup>>
        %acc2 = arith.addi %acc, %hw : i32
        scf.yield %acc2 : i32
      }
      %tb = arith.select %inBins, %tb0, %c0i : i32
      scf.if %inBins {
        memref.store %tb, %sfx[%tbin] : memref<256xi32, #gpu.address_space<workgroup>>
      }
      gpu.barrier
      scf.for %s = %c0 to %c8s step %c1 {
        %c1i = arith.constant 1 : i32
        %si = arith.index_cast %s : index to i32
        %dist0 = arith.shli %c1i, %si : i32
        %dist = arith.index_cast %dist0 : i32 to index
        %src = arith.addi %tbin, %dist : index
        %has = arith.cmpi ult, %src, %c256 : index
        %srcc = arith.select %has, %src, %tbin : index
        %x = memref.load %sfx[%tbin] : memref<256xi32, #gpu.address_space<workgroup>>
        %y = memref.load %sfx[%srcc] : memref<256xi32, #gpu.address_space<workgroup>>
        %yz = arith.select %has, %y, %c0i : i32
        %z = arith.addi %x, %yz : i32
        gpu.barrier
        scf.if %inBins {
          memref.store %z, %sfx[%tbin] : memref<256xi32, #gpu.address_space<workgroup>>
        }
        gpu.barrier
      }
      %incl = memref.load %sfx[%tbin] : memref<256xi32, #gpu.address_space<workgroup>>
      %excl = arith.subi %incl, %tb : i32
      %incl64 = arith.extsi %incl : i32 to i64
      %excl64 = arith.extsi %excl : i32 to i64
      %gt = arith.cmpi sgt, %incl64, %budget : i64
      %le = arith.cmpi sle, %excl64, %budget : i64
      %mine0 = arith.andi %gt, %le : i1
      %mine = arith.andi %mine0, %inBins : i1
      scf.if %mine {
        %dg64 = arith.index_cast %tbin : index to i64
        memref.store %dg64, %sh[%c1] : memref<4xi64, #gpu.address_space<workgroup>>
        %nrest = arith.subi %budget, %excl64 : i64
        memref.store %nrest, %sh[%c2] : memref<4xi64, #gpu.address_space<workgroup>>
      }
      gpu.barrier
      %digit = memref.load %sh[%c1] : memref<4xi64, #gpu.address_space<workgroup>>
      %nb = memref.load %sh[%c2] : memref<4xi64, #gpu.address_space<workgroup>>
      gpu.barrier
      %d32 = arith.trunci %digit : i64 to i32
      %dsh = arith.shli %d32, %shift : i32
      %np = arith.ori %prefix, %dsh : i32
      %msh = arith.shli %c255i, %shift : i32
      %nm = arith.ori %mask, %msh : i32
      scf.yield %np, %nm, %nb : i32, i32, i64
    }
)";
  if (inRegs) {
    t += "    %tstar = arith.bitcast %res#0 : i32 to f32\n";
    for (int64_t k = 0; k < R; ++k) {
      std::string n = str(k);
      t += "    %fk" + n + "pos = arith.cmpi sgt, %rk" + n + "w, %c0i : i32\n"
           "    %fk" + n + "ab = arith.cmpf ogt, %rk" + n + "rv, %tstar : f32\n"
           "    %fk" + n + "keep = arith.andi %fk" + n + "pos, %fk" + n + "ab : i1\n"
           "    %fk" + n + "mv = arith.select %fk" + n + "keep, %c1i8, %c0i8 : i8\n"
           "    scf.if %rk" + n + "in {\n"
           "      memref.store %fk" + n + "mv, %sel[%b, %h, %rk" + n + "cc] : memref<$Bx$Hx$Cxi8>\n"
           "    }\n";
    }
  } else {
    t += R"(    %tstar = arith.bitcast %res#0 : i32 to f32
    scf.for %c = %tid to %cC step %cTH {
      %ev = memref.load %sel[%b, %h, %c] : memref<$Bx$Hx$Cxi8>
      %el = arith.cmpi ne, %ev, %c0i8 : i8
      %rv = memref.load %r[%b, %h, %c] : memref<$Bx$Hx$Cxf32>
      %above = arith.cmpf ogt, %rv, %tstar : f32
      %keep = arith.andi %el, %above : i1
      %mv = arith.select %keep, %c1i8, %c0i8 : i8
      memref.store %mv, %sel[%b, %h, %c] : memref<$Bx$Hx$Cxi8>
    }
)";
  }
  t += R"(  }
)";
  if (chunkBases)
    t += R"(  // Selected tokens per chunk of $CPT consecutive clusters (one chunk per
  // thread), and their exclusive prefix: where each chunk's members go in
  // the exact part's token list (compactChunksKernel).
  gpu.barrier
  %cCPT = arith.constant $CPT : index
  %cCm1 = arith.constant $C : index
  %cc0 = arith.muli %tid, %cCPT : index
  %mine = scf.for %u = %c0 to %cCPT step %c1 iter_args(%acc = %c0i) -> (i32) {
    %c = arith.addi %cc0, %u : index
    %in = arith.cmpi ult, %c, %cC : index
    %cl = arith.subi %cCm1, %c1 : index
    %cs = arith.minui %c, %cl : index
    %sv = memref.load %sel[%b, %h, %cs] : memref<$Bx$Hx$Cxi8>
    %on0 = arith.cmpi ne, %sv, %c0i8 : i8
    %on = arith.andi %on0, %in : i1
    %cn = memref.load %cnt[%b, %h, %cs] : memref<$Bx$Hx$Cxi32>
    %add = arith.select %on, %cn, %c0i : i32
    %acc2 = arith.addi %acc, %add : i32
    scf.yield %acc2 : i32
  }
  %ws32 = arith.constant 32 : i32
  %lanec = arith.remui %tid, %c32 : index
  %sc0 = arith.addi %mine, %c0i : i32
)";
  if (chunkBases) {
    t += warpInclusiveScan("u", "%sc0", "%lanec", "%ws32", "  ");
    t += R"(  %incl = arith.addi %uincl_, %c0i : i32
  %c31 = arith.constant 31 : index
  %last = arith.cmpi eq, %lanec, %c31 : index
  scf.if %last {
    memref.store %incl, %sfx[%warp] : memref<256xi32, #gpu.address_space<workgroup>>
  }
  gpu.barrier
  %w0 = arith.cmpi eq, %warp, %c0 : index
  scf.if %w0 {
    %wt = memref.load %sfx[%lanec] : memref<256xi32, #gpu.address_space<workgroup>>
)";
    t += warpInclusiveScan("w", "%wt", "%lanec", "%ws32", "    ");
    t += R"(    %wincl = arith.addi %wincl_, %c0i : i32
    memref.store %wincl, %sfx[%lanec] : memref<256xi32, #gpu.address_space<workgroup>>
  }
  gpu.barrier
  %hasPrev = arith.cmpi ugt, %warp, %c0 : index
  %wp = arith.subi %warp, %c1 : index
  %wpc = arith.select %hasPrev, %wp, %c0 : index
  %wprev0 = memref.load %sfx[%wpc] : memref<256xi32, #gpu.address_space<workgroup>>
  %wprev = arith.select %hasPrev, %wprev0, %c0i : i32
  %excl0 = arith.subi %incl, %mine : i32
  %excl = arith.addi %excl0, %wprev : i32
  %cNCH = arith.constant $NCH : index
  %isChunk = arith.cmpi ult, %tid, %cNCH : index
  scf.if %isChunk {
    memref.store %excl, %cbase[%b, %h, %tid] : memref<$Bx$Hx$NCH1xi32>
  }
  %cLast = arith.constant $NCHm1 : index
  %isLast = arith.cmpi eq, %tid, %cLast : index
  scf.if %isLast {
    %tot = arith.addi %excl, %mine : i32
    memref.store %tot, %cbase[%b, %h, %cNCH] : memref<$Bx$Hx$NCH1xi32>
  }
)";
  }
  t += R"(  gpu.return
}
)";
  return subst(t, vars);
}

int64_t mlir::multipole::gpugen::selectChunks(int64_t B, int64_t H) {
  int64_t heads = B * H;
  return heads <= 16 ? 1024 : heads <= 64 ? 512 : 256;
}

int64_t mlir::multipole::gpugen::selectChunk(int64_t C, int64_t nch) {
  return std::max<int64_t>(1, (C + nch - 1) / nch);
}

std::string mlir::multipole::gpugen::compactChunksKernel(
    llvm::StringRef name, int64_t B, int64_t H, int64_t N, int64_t C,
    int64_t sink, int64_t nch) {
  std::map<std::string, std::string> vars = {
      {"NAME", name.str()}, {"B", str(B)},   {"H", str(H)},
      {"N", str(N)},        {"C", str(C)},   {"C1", str(C + 1)},
      {"SINK", str(sink)},  {"CPT", str(selectChunk(C, nch))},
      {"NCH", str(nch)},    {"NCH1", str(nch + 1)}};
  std::string t = R"(gpu.func @$NAME(%lens: memref<$Bxi32>, %off: memref<$Bx$Hx$C1xi32>,
    %mem: memref<$Bx$Hx$Nxi32>, %cnt: memref<$Bx$Hx$Cxi32>, %st: memref<$Bx$Hx4xi32>,
    %sel: memref<$Bx$Hx$Cxi8>, %cbase: memref<$Bx$Hx$NCH1xi32>,
    %tok: memref<$Bx$Hx$Nxi32>, %ntok: memref<$Bx$Hxi32>)
    kernel attributes {known_block_size = array<i32: 128, 1, 1>} {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c128 = arith.constant 128 : index
  %cN = arith.constant $N : index
  %cC = arith.constant $C : index
  %cS = arith.constant $SINK : index
  %cCPT = arith.constant $CPT : index
  %c0i8 = arith.constant 0 : i8
  %x = gpu.block_id x
  %h = gpu.block_id y
  %b = gpu.block_id z
  %tid = gpu.thread_id x
  %li = memref.load %lens[%b] : memref<$Bxi32>
  %l0 = arith.index_cast %li : i32 to index
  %l1 = arith.maxsi %l0, %c0 : index
  %n = arith.minui %l1, %cN : index
  %lci = memref.load %st[%b, %h, %c1] : memref<$Bx$Hx4xi32>
  %lc = arith.index_cast %lci : i32 to index
  %sn = arith.minui %cS, %n : index
  %ws0 = arith.addi %cS, %lc : index
  %ws = arith.minui %ws0, %n : index
  %nw = arith.subi %n, %ws : index
  %base0 = arith.addi %sn, %nw : index
  %first = arith.cmpi eq, %x, %c0 : index
  scf.if %first {
    scf.for %p = %tid to %sn step %c128 {
      %pi = arith.index_cast %p : index to i32
      memref.store %pi, %tok[%b, %h, %p] : memref<$Bx$Hx$Nxi32>
    }
    scf.for %p = %tid to %nw step %c128 {
      %j = arith.addi %ws, %p : index
      %ji = arith.index_cast %j : index to i32
      %q = arith.addi %sn, %p : index
      memref.store %ji, %tok[%b, %h, %q] : memref<$Bx$Hx$Nxi32>
    }
    %t0 = arith.cmpi eq, %tid, %c0 : index
    scf.if %t0 {
      %cN1 = arith.constant $NCH : index
      %tot = memref.load %cbase[%b, %h, %cN1] : memref<$Bx$Hx$NCH1xi32>
      %b0i = arith.index_cast %base0 : index to i32
      %nt = arith.addi %tot, %b0i : i32
      memref.store %nt, %ntok[%b, %h] : memref<$Bx$Hxi32>
    }
  }
  // A warp per chunk: lanes load the metadata of 32 clusters at once, scan
  // their selected counts with shuffles, then copy each selected cluster's
  // member list with all 32 lanes. (A thread per chunk copying serially was
  // latency-bound: ~44 us at B = 1.)
  %c32 = arith.constant 32 : index
  %c4 = arith.constant 4 : index
  %c0i = arith.constant 0 : i32
  %c1i = arith.constant 1 : i32
  %w32 = arith.constant 32 : i32
  %c31i = arith.constant 31 : i32
  %lane = arith.remui %tid, %c32 : index
  %warp = arith.divui %tid, %c32 : index
  %lanei = arith.index_cast %lane : index to i32
  %full = arith.constant -1 : i32
  %k0 = arith.muli %x, %c4 : index
  %k = arith.addi %k0, %warp : index
  %cb = memref.load %cbase[%b, %h, %k] : memref<$Bx$Hx$NCH1xi32>
  %cbx = arith.index_cast %cb : i32 to index
  %pos0 = arith.addi %base0, %cbx : index
  %cfirst = arith.muli %k, %cCPT : index
  %cCm1 = arith.subi %cC, %c1 : index
  %fin = scf.for %u0 = %c0 to %cCPT step %c32 iter_args(%pos = %pos0) -> (index) {
    %u = arith.addi %u0, %lane : index
    %inU = arith.cmpi ult, %u, %cCPT : index
    %c = arith.addi %cfirst, %u : index
    %inC = arith.cmpi ult, %c, %cC : index
    %in = arith.andi %inU, %inC : i1
    %cc = arith.minui %c, %cCm1 : index
    %sv = memref.load %sel[%b, %h, %cc] : memref<$Bx$Hx$Cxi8>
    %oi = memref.load %off[%b, %h, %cc] : memref<$Bx$Hx$C1xi32>
    %mi = memref.load %cnt[%b, %h, %cc] : memref<$Bx$Hx$Cxi32>
    %on0 = arith.cmpi ne, %sv, %c0i8 : i8
    %on = arith.andi %on0, %in : i1
    %w = arith.select %on, %mi, %c0i : i32
)";
  t += warpInclusiveScan("s", "%w", "%lane", "%w32", "    ");
  t += "    %incl = arith.addi %sincl_, %c0i : i32\n";
  t += R"(    %excl = arith.subi %incl, %w : i32
    %tot, %totok = gpu.shuffle idx %incl, %c31i, %w32 : i32
    // Copy the chunk's selected members with every lane at once: slot q
    // belongs to the first lane whose inclusive count exceeds q (binary
    // search over lanes with shuffles), so all loads are in flight together.
    %totx0 = arith.index_cast %tot : i32 to index
    %trips = arith.ceildivui %totx0, %c32 : index
    scf.for %it = %c0 to %trips step %c1 {
      %it32 = arith.muli %it, %c32 : index
      %q = arith.addi %it32, %lane : index
      %qi = arith.index_cast %q : index to i32
      %qv = arith.cmpi ult, %q, %totx0 : index
)";
  t += laneSearch("bs", "%incl", "%qi", "      ");
  t += "      %own = arith.addi %bsown, %c0i : i32\n";
  t += R"(      %ob, %obok = gpu.shuffle idx %oi, %own, %w32 : i32
      %eb, %ebok = gpu.shuffle idx %excl, %own, %w32 : i32
      scf.if %qv {
        %rel = arith.subi %qi, %eb : i32
        %srci = arith.addi %ob, %rel : i32
        %src = arith.index_cast %srci : i32 to index
        %jv = memref.load %mem[%b, %h, %src] : memref<$Bx$Hx$Nxi32>
        %dst = arith.addi %pos, %q : index
        memref.store %jv, %tok[%b, %h, %dst] : memref<$Bx$Hx$Nxi32>
      }
    }
    %totx = arith.index_cast %tot : i32 to index
    %pn = arith.addi %pos, %totx : index
    scf.yield %pn : index
  }
  gpu.return
}
)";
  return subst(t, vars);
}

std::string mlir::multipole::gpugen::compactKernel(llvm::StringRef name,
                                                   int64_t B, int64_t H,
                                                   int64_t N, int64_t C,
                                                   int64_t sink) {
  std::map<std::string, std::string> vars = {
      {"NAME", name.str()}, {"B", str(B)}, {"H", str(H)}, {"N", str(N)},
      {"C", str(C)}, {"C1", str(C + 1)}, {"SINK", str(sink)}};
  std::string t = R"(gpu.func @$NAME(%lens: memref<$Bxi32>, %off: memref<$Bx$Hx$C1xi32>,
    %mem: memref<$Bx$Hx$Nxi32>, %cnt: memref<$Bx$Hx$Cxi32>, %st: memref<$Bx$Hx4xi32>,
    %sel: memref<$Bx$Hx$Cxi8>, %tok: memref<$Bx$Hx$Nxi32>, %ntok: memref<$Bx$Hxi32>)
    workgroup(%scan: memref<512xi32, #gpu.address_space<workgroup>>)
    kernel attributes {known_block_size = array<i32: 512, 1, 1>} {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c255 = arith.constant 511 : index
  %c256 = arith.constant 512 : index
  %cN = arith.constant $N : index
  %cC = arith.constant $C : index
  %cS = arith.constant $SINK : index
  %c0i = arith.constant 0 : i32
  %c0i8 = arith.constant 0 : i8
  %c2x = arith.constant 2 : index
  %false_ = arith.constant false
  %true_ = arith.constant true
  %h = gpu.block_id x
  %b = gpu.block_id y
  %tid = gpu.thread_id x
  %li = memref.load %lens[%b] : memref<$Bxi32>
  %l0 = arith.index_cast %li : i32 to index
  %l1 = arith.maxsi %l0, %c0 : index
  %n = arith.minui %l1, %cN : index
  %nci = memref.load %st[%b, %h, %c0] : memref<$Bx$Hx4xi32>
  %nc = arith.index_cast %nci : i32 to index
  %lci = memref.load %st[%b, %h, %c1] : memref<$Bx$Hx4xi32>
  %lc = arith.index_cast %lci : i32 to index
  %sn = arith.minui %cS, %n : index
  %ws0 = arith.addi %cS, %lc : index
  %ws = arith.minui %ws0, %n : index
  %nw = arith.subi %n, %ws : index
  scf.for %p = %tid to %sn step %c256 {
    %pi = arith.index_cast %p : index to i32
    memref.store %pi, %tok[%b, %h, %p] : memref<$Bx$Hx$Nxi32>
  }
  scf.for %p = %tid to %nw step %c256 {
    %j = arith.addi %ws, %p : index
    %ji = arith.index_cast %j : index to i32
    %q = arith.addi %sn, %p : index
    memref.store %ji, %tok[%b, %h, %q] : memref<$Bx$Hx$Nxi32>
  }
  %base0 = arith.addi %sn, %nw : index
  %base0i = arith.index_cast %base0 : index to i32
  // Selected clusters, 1024 at a time (4 consecutive per thread): local sums,
  // a block-wide scan of the 256 sums, then each thread copies the member
  // lists of its clusters.
  %c1024 = arith.constant 2048 : index
  %c4 = arith.constant 4 : index
  %nchunks = arith.ceildivui %cC, %c1024 : index
  %fin = scf.for %k = %c0 to %nchunks step %c1 iter_args(%base = %base0i) -> (i32) {
    %k1024 = arith.muli %k, %c1024 : index
    %t4 = arith.muli %tid, %c4 : index
    %c00 = arith.addi %k1024, %t4 : index
    %mine = scf.for %u = %c0 to %c4 step %c1 iter_args(%acc = %c0i) -> (i32) {
      %c = arith.addi %c00, %u : index
      %inC = arith.cmpi ult, %c, %nc : index
      %cl = arith.subi %cC, %c1 : index
      %cs = arith.minui %c, %cl : index
      %sv = memref.load %sel[%b, %h, %cs] : memref<$Bx$Hx$Cxi8>
      %on0 = arith.cmpi ne, %sv, %c0i8 : i8
      %on = arith.andi %on0, %inC : i1
      %cn = memref.load %cnt[%b, %h, %cs] : memref<$Bx$Hx$Cxi32>
      %add = arith.select %on, %cn, %c0i : i32
      %acc2 = arith.addi %acc, %add : i32
      scf.yield %acc2 : i32
    }
    memref.store %mine, %scan[%tid] : memref<512xi32, #gpu.address_space<workgroup>>
    gpu.barrier
    %c8 = arith.constant 9 : index
    scf.for %s = %c0 to %c8 step %c1 {
      %c1i = arith.constant 1 : i32
      %si = arith.index_cast %s : index to i32
      %dist0 = arith.shli %c1i, %si : i32
      %dist = arith.index_cast %dist0 : i32 to index
      %has = arith.cmpi uge, %tid, %dist : index
      %src = arith.subi %tid, %dist : index
      %srcc = arith.select %has, %src, %tid : index
      %x = memref.load %scan[%tid] : memref<512xi32, #gpu.address_space<workgroup>>
      %y = memref.load %scan[%srcc] : memref<512xi32, #gpu.address_space<workgroup>>
      %yz = arith.select %has, %y, %c0i : i32
      %z = arith.addi %x, %yz : i32
      gpu.barrier
      memref.store %z, %scan[%tid] : memref<512xi32, #gpu.address_space<workgroup>>
      gpu.barrier
    }
    // Copy the chunk's selected members cooperatively: output slot q belongs
    // to the thread whose inclusive scan first exceeds q (binary search in
    // shared memory), then to one of that thread's 4 clusters.
    %tot0 = memref.load %scan[%c255] : memref<512xi32, #gpu.address_space<workgroup>>
    %totx = arith.index_cast %tot0 : i32 to index
    %c9 = arith.constant 9 : index
    %c511 = arith.constant 511 : index
    scf.for %q = %tid to %totx step %c256 {
      %qi = arith.index_cast %q : index to i32
      // Smallest t with scan[t] > q.
      %bs:2 = scf.for %it = %c0 to %c9 step %c1 iter_args(%blo = %c0, %bhi = %c511) -> (index, index) {
        %bsum = arith.addi %blo, %bhi : index
        %mid = arith.divui %bsum, %c2x : index
        %sv = memref.load %scan[%mid] : memref<512xi32, #gpu.address_space<workgroup>>
        %gt = arith.cmpi sgt, %sv, %qi : i32
        %nlo0 = arith.addi %mid, %c1 : index
        %nlo = arith.select %gt, %blo, %nlo0 : index
        %nhi = arith.select %gt, %mid, %bhi : index
        scf.yield %nlo, %nhi : index, index
      }
      %own = arith.minui %bs#0, %c511 : index
      %ownIncl = memref.load %scan[%own] : memref<512xi32, #gpu.address_space<workgroup>>
      %isFirst = arith.cmpi eq, %own, %c0 : index
      %ownm1 = arith.subi %own, %c1 : index
      %prevIdx = arith.select %isFirst, %c0, %ownm1 : index
      %prev0 = memref.load %scan[%prevIdx] : memref<512xi32, #gpu.address_space<workgroup>>
      %prev = arith.select %isFirst, %c0i, %prev0 : i32
      %r0 = arith.subi %qi, %prev : i32
      %o4 = arith.muli %own, %c4 : index
      %oc0 = arith.addi %k1024, %o4 : index
      // Walk the owner's 4 clusters to the one holding rank r0.
      %fw:3 = scf.for %u = %c0 to %c4 step %c1 iter_args(%rr = %r0, %fc = %c0, %found = %false_) -> (i32, index, i1) {
        %c = arith.addi %oc0, %u : index
        %inC = arith.cmpi ult, %c, %nc : index
        %cl = arith.subi %cC, %c1 : index
        %cs = arith.minui %c, %cl : index
        %sv = memref.load %sel[%b, %h, %cs] : memref<$Bx$Hx$Cxi8>
        %on0 = arith.cmpi ne, %sv, %c0i8 : i8
        %on = arith.andi %on0, %inC : i1
        %cn = memref.load %cnt[%b, %h, %cs] : memref<$Bx$Hx$Cxi32>
        %w = arith.select %on, %cn, %c0i : i32
        %inside = arith.cmpi slt, %rr, %w : i32
        %notf = arith.xori %found, %true_ : i1
        %hit = arith.andi %inside, %notf : i1
        %nfc = arith.select %hit, %cs, %fc : index
        %nfound = arith.ori %found, %hit : i1
        %rr2 = arith.subi %rr, %w : i32
        %nrr = arith.select %nfound, %rr, %rr2 : i32
        scf.yield %nrr, %nfc, %nfound : i32, index, i1
      }
      %o0 = memref.load %off[%b, %h, %fw#1] : memref<$Bx$Hx$C1xi32>
      %srcI = arith.addi %o0, %fw#0 : i32
      %src = arith.index_cast %srcI : i32 to index
      %jv = memref.load %mem[%b, %h, %src] : memref<$Bx$Hx$Nxi32>
      %dI = arith.addi %base, %qi : i32
      %d = arith.index_cast %dI : i32 to index
      memref.store %jv, %tok[%b, %h, %d] : memref<$Bx$Hx$Nxi32>
    }
    %tot = memref.load %scan[%c255] : memref<512xi32, #gpu.address_space<workgroup>>
    gpu.barrier
    %nb = arith.addi %base, %tot : i32
    scf.yield %nb : i32
  }
  %t0 = arith.cmpi eq, %tid, %c0 : index
  scf.if %t0 {
    memref.store %fin, %ntok[%b, %h] : memref<$Bx$Hxi32>
  }
  gpu.return
}
)";
  return subst(t, vars);
}
