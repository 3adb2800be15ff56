//===- LaunchChoicesTest.cpp - the GPU lowering's launch arithmetic -------===//
//
// The selection kernel and the compaction kernel agree on chunks of clusters
// only through selectChunks / selectChunk / selectRegClusters (KernelGen.h):
// the selection writes one base per chunk from its threads' registers, the
// compaction copies each chunk's members. These tests hold the arithmetic
// both kernels rely on, for every cluster capacity up to 40K.
//
//===----------------------------------------------------------------------===//

#include "KernelGen.h"

#include <gtest/gtest.h>

using namespace mlir::multipole::gpugen;

namespace {

constexpr int64_t kThreads = 1024; // the selection kernel's CTA

TEST(SelectChunks, DivideTheSelectionCTA) {
  for (int64_t B : {1, 2, 3, 4, 8, 16, 32})
    for (int64_t H : {1, 2, 4, 8, 16}) {
      int64_t nch = selectChunks(B, H);
      EXPECT_GT(nch, 0) << "B=" << B << " H=" << H;
      EXPECT_LE(nch, kThreads);
      EXPECT_EQ(kThreads % nch, 0) << "B=" << B << " H=" << H;
      EXPECT_TRUE(selectChunksSupported(nch)) << "B=" << B << " H=" << H;
    }
}

TEST(SelectChunks, OnlyDivisorsOfTheCTAAreTaken) {
  for (int64_t nch = 0; nch <= 4096; ++nch)
    EXPECT_EQ(selectChunksSupported(nch),
              nch == 256 || nch == 512 || nch == 1024)
        << "nch=" << nch;
}

TEST(SelectChunks, CoverEveryCluster) {
  for (int64_t nch : {256, 512, 1024})
    for (int64_t C = 1; C <= 40000; ++C) {
      int64_t cpt = selectChunk(C, nch);
      ASSERT_GE(cpt, 1);
      ASSERT_GE(cpt * nch, C) << "C=" << C << " nch=" << nch;
    }
}

TEST(SelectChunks, RegisterChunksAreWholeThreads) {
  for (int64_t C = 1; C <= 40000; ++C) {
    int64_t R = selectRegClusters(C);
    int64_t need = (C + kThreads - 1) / kThreads;
    if (need > 16) {
      ASSERT_EQ(R, 0) << "C=" << C;
      continue;
    }
    ASSERT_EQ(R, need) << "C=" << C;
    ASSERT_GE(R * kThreads, C);
    for (int64_t nch : {256, 512, 1024}) {
      // A chunk is kThreads / nch threads' R consecutive clusters.
      ASSERT_EQ(selectChunk(C, nch), R * (kThreads / nch))
          << "C=" << C << " nch=" << nch;
    }
  }
}

TEST(SplitsFor, OneWaveWithAMinimumPerSplit) {
  for (int64_t B : {1, 4, 16})
    for (int64_t H : {1, 2, 8})
      for (int64_t items : {64, 1000, 8290, 131072}) {
        int64_t s = splitsFor(B, H, items, 64, 4 * 132, 0);
        EXPECT_GE(s, 1);
        // at least 64 items per split, unless there are fewer items than that
        EXPECT_TRUE(s == 1 || items / s >= 64)
            << "B=" << B << " H=" << H << " items=" << items << " s=" << s;
        EXPECT_EQ(splitsFor(B, H, items, 64, 4 * 132, 7), 7);
      }
}

} // namespace

int main(int argc, char **argv) {
  testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
