// MLIR 22 parser crash (upstream, docs/Fuzzing.md): a dense array of index.
func.func @f() attributes {x = array<index: 1>} {
  return
}
