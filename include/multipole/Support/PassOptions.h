//===- PassOptions.h - strict parsing of pass option strings ----*- C++ -*-===//
//
// llvm::cl parses an empty value of a floating-point option ("budget-fraction=")
// as 0 without complaint. The multipole passes override initializeOptions
// and reject empty values first, so a knob is never zeroed by a typo.
//
//===----------------------------------------------------------------------===//
#ifndef MULTIPOLE_SUPPORT_PASSOPTIONS_H
#define MULTIPOLE_SUPPORT_PASSOPTIONS_H

#include "mlir/Support/LLVM.h"
#include "llvm/ADT/STLFunctionalExtras.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/ADT/Twine.h"

namespace mlir {
namespace multipole {

/// Fails (through `errorHandler`) when an option of `options` (the text
/// between the braces of `pass{...}`) is given as `name=` with no value.
inline LogicalResult
rejectEmptyOptionValues(StringRef pass, StringRef options,
                        function_ref<LogicalResult(const Twine &)> errorHandler) {
  int depth = 0;
  char quote = 0;
  size_t start = 0;
  auto check = [&](StringRef tok) -> LogicalResult {
    tok = tok.trim();
    size_t eq = tok.find('=');
    if (eq != StringRef::npos && eq + 1 == tok.size())
      return errorHandler("option '" + tok.drop_back() + "' of " + pass +
                          " has an empty value");
    return success();
  };
  for (size_t i = 0, e = options.size(); i <= e; ++i) {
    char c = i < e ? options[i] : ' ';
    if (quote) {
      if (c == quote)
        quote = 0;
      continue;
    }
    if (c == '"' || c == '\'') {
      quote = c;
    } else if (c == '{') {
      ++depth;
    } else if (c == '}') {
      --depth;
    } else if (depth == 0 && (c == ' ' || c == '\t' || c == '\n')) {
      if (failed(check(options.slice(start, i))))
        return failure();
      start = i + 1;
    }
  }
  return success();
}

} // namespace multipole
} // namespace mlir

#endif // MULTIPOLE_SUPPORT_PASSOPTIONS_H
