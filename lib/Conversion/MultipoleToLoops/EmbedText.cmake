# Writes the file IN as a C++ raw string literal `kKernelsText` into OUT.
file(READ ${IN} CONTENT)
file(WRITE ${OUT} "static const char kKernelsText[] = R\"MPKERNELS(\n${CONTENT})MPKERNELS\";\n")
