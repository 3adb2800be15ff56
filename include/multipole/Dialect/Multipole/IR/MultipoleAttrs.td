//===- MultipoleAttrs.td - multipole attributes -----------*- tablegen -*-===//
#ifndef MULTIPOLE_ATTRS_TD
#define MULTIPOLE_ATTRS_TD

include "multipole/Dialect/Multipole/IR/MultipoleDialect.td"
include "mlir/IR/AttrTypeBase.td"
include "mlir/IR/BuiltinAttributeInterfaces.td"

// A floating-point knob, written as a plain number (`0.0625`).
def MP_F64Param : AttrParameter<"::llvm::APFloat", "a floating-point number"> {
  let parser = "::mlir::multipole::parseF64Param($_parser)";
  let printer = "::mlir::multipole::printF64Param($_printer, $_self)";
  let comparator = "$_lhs.bitwiseIsEqual($_rhs)";
}
def MP_OptF64Param
    : OptionalParameter<"std::optional<::llvm::APFloat>", "an optional number"> {
  let parser = "::mlir::multipole::parseOptF64Param($_parser)";
  let printer = "::mlir::multipole::printF64Param($_printer, *$_self)";
  let comparator = "::mlir::multipole::optF64Equal($_lhs, $_rhs)";
}

def MP_LevelsParam
    : ArrayRefParameter<"::mlir::multipole::LevelAttr", "levels, finest first"> {
  let parser = "::mlir::multipole::parseLevels($_parser)";
  let printer = "::mlir::multipole::printLevels($_printer, $_self)";
}

class Multipole_Attr<string name, string attrMnemonic, list<Trait> traits = []>
    : AttrDef<Multipole_Dialect, name, traits> {
  let mnemonic = attrMnemonic;
}

def Multipole_LevelAttr : Multipole_Attr<"Level", "level"> {
  let summary = "One level of the cluster hierarchy: cluster fraction and budget";
  let description = [{
    `fraction` is the number of clusters per clustered token at level 0 (the
    finest), and the number of coarse clusters per non-empty fine cluster at
    level 1; it must lie in (0, 1). The budget is either `budget_tokens` (an
    absolute number of tokens per sequence and KV head, >= 0) or
    `budget_fraction` (a fraction of the clustered length, in [0, 1)); exactly
    one of the two is given.

    ```mlir
    #multipole.level<fraction = 6.250000e-02, budget_fraction = 1.000000e-01>
    #multipole.level<fraction = 6.250000e-02, budget_tokens = 4096>
    ```
  }];
  let parameters = (ins
    MP_F64Param:$fraction,
    OptionalParameter<"std::optional<int64_t>">:$budget_tokens,
    MP_OptF64Param:$budget_fraction
  );
  let assemblyFormat = "`<` struct(params) `>`";
  let genVerifyDecl = 1;
  let extraClassDeclaration = [{
    /// Token budget for a clustered length `lc`.
    int64_t budgetFor(int64_t lc) const;
  }];
}

def Multipole_ConfigAttr : Multipole_Attr<"Config", "config"> {
  let summary = "The knobs of multipole attention";
  let description = [{
    Carries every knob of the algorithm (docs/Algorithm.md): the hierarchy
    `levels` (finest first, 1 or 2 levels), the always-exact `sink`, the
    recluster `interval`, the k-means `block_size`, the Lloyd iterations of the
    build (`build_iters`) and of the online update (`update_iters`), the
    scoring position and RoPE base for windowed RoPE (`score_position`,
    `rope_theta`; `rope_theta = 0` means the cached keys carry no rotation) and
    whether unselected clusters are approximated by their centroids
    (`replacement`).

    ```mlir
    #multipole.config<levels = [#multipole.level<fraction = 6.250000e-02,
                        budget_fraction = 1.000000e-01>],
                      sink = 16, interval = 128, block_size = 8192,
                      build_iters = 10, update_iters = 3,
                      score_position = 2048, rope_theta = 0.000000e+00,
                      replacement = true>
    ```
  }];
  let parameters = (ins
    MP_LevelsParam:$levels,
    "int64_t":$sink,
    "int64_t":$interval,
    "int64_t":$block_size,
    "int64_t":$build_iters,
    "int64_t":$update_iters,
    "int64_t":$score_position,
    MP_F64Param:$rope_theta,
    "bool":$replacement
  );
  let assemblyFormat = "`<` struct(params) `>`";
  let genVerifyDecl = 1;
  let extraClassDeclaration = [{
    /// Cluster capacity of level `level` for a cache of `n` tokens (ABI).
    int64_t capacity(unsigned level, int64_t n) const;
    /// New clusters seeded per update interval at level 0.
    int64_t extraClusters() const;
    double fraction(unsigned level) const {
      return getLevels()[level].getFraction().convertToDouble();
    }
  }];
}

#endif // MULTIPOLE_ATTRS_TD
