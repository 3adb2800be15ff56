//===- LaunchChoicesTest.cpp - the GPU lowering's launch arithmetic -------===//
//
// The selection kernel and the compaction kernel agree on chunks of clusters
// only through selectChunks / selectChunk / selectRegClusters (KernelGen.h):
// the selection writes one base per chunk from its threads' registers, the
// compaction copies each chunk's members. These tests hold the arithmetic
// both kernels rely on, for every cluster capacity up to 40K. The online
// update's tracked interval sizes its `_idist` grid and its token threads by
// trackedInterval / intervalClusterChunks / intervalDistTokens
// (ClusterKernels.h): the chunks cover the block's clusters, a CTA's tokens
// fit its buffers, and a thread per token fits the CTA. The selection
// computes the scores only up to fusedScoresMaxClusters, within its
// register form.
//
//===----------------------------------------------------------------------===//

#include "ClusterKernels.h"
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

TEST(TrackedInterval, ChunksCoverTheBlockAndTokensFitTheCTA) {
  for (int64_t N : {4096, 32768 + 1024, 131072 + 1024})
    for (int64_t interval : {32, 64, 128, 256})
      for (int64_t bs : {1024, 8192})
        for (double f : {0.0625, 0.25}) {
          int64_t C = int64_t(f * double(N)) + 16;
          ClusterShape s{1, 8, N, 128, C, N};
          ClusterConfig c{16, interval, bs, 10, 3, std::max<int64_t>(1, int64_t(f * interval)), f};
          ASSERT_TRUE(trackedInterval(s, c)) << "I=" << interval;
          int64_t maxCb = updateBounds(s, c).maxCb;
          int64_t ncc = intervalClusterChunks(s, c);
          // every cluster of the block in a chunk of 256, no empty chunk
          EXPECT_GE(ncc * 256, maxCb) << "N=" << N << " I=" << interval;
          EXPECT_LT((ncc - 1) * 256, maxCb) << "N=" << N << " I=" << interval;
          int64_t tt = intervalDistTokens(s, c);
          EXPECT_GE(tt, 1);
          EXPECT_LE(tt, std::min<int64_t>(32, interval));
        }
}

TEST(TrackedInterval, OnlyWhereAThreadPerTokenFits) {
  ClusterShape s{1, 8, 32768, 128, 2058, 32768};
  ClusterConfig c{16, 128, 8192, 10, 3, 8, 0.0625};
  EXPECT_TRUE(trackedInterval(s, c));
  c.interval = 256;
  EXPECT_TRUE(trackedInterval(s, c));
  c.interval = 512; // more tokens than the CTA's 256 threads
  EXPECT_FALSE(trackedInterval(s, c));
  c.interval = 128;
  s.D = 256; // a row of 256 floats in registers
  EXPECT_FALSE(trackedInterval(s, c));
}

TEST(ScoresInSelect, WithinTheRegisterForm) {
  // The fused scores are computed in the selection's register load.
  EXPECT_GT(selectRegClusters(fusedScoresMaxClusters), 0);
  EXPECT_LE(selectRegClusters(fusedScoresMaxClusters), 16);
}

} // namespace

int main(int argc, char **argv) {
  testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
