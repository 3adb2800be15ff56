#!/usr/bin/env bash
# Compiles the model libraries of the Hugging Face integration (multipole.hf) with
# multipole-compile --model, here where MLIR is; carry bench/libs to the GPU machine.
#   - hf_tiny_f32_full.so: the tiny Qwen3 of bench/hf_check.py (test/Device/hf-generate.test)
#     in f32, a budget covering every token (generation must equal dense);
#   - hf_tiny_bf16.so: the same model in bf16 at the default 10% budget (the README snippet);
#   - hf_8b_l8_n32k.so, hf_8b_l8_n128k.so: Qwen3-8B's attention (Hq 32, Hkv 8, D 128, bf16)
#     for 8 layers, caches of 32K / 128K + 256 tokens (bench/bench_hf.py).
# Usage: bench/compile_hf_libs.sh [OUTDIR]   (default bench/libs)
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-bench/libs}
mkdir -p "$OUT"
C=build/bin/multipole-compile
# The tiny model: must match tiny_config() in bench/hf_check.py and the README snippet.
for dt in float32 bfloat16; do
  cat > "$OUT/hf_tiny_$dt.json" <<EOF
{"model_type": "qwen3", "hidden_size": 256, "intermediate_size": 512, "num_hidden_layers": 4,
 "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 128, "vocab_size": 512,
 "max_position_embeddings": 4096, "rope_theta": 1000000.0, "torch_dtype": "$dt"}
EOF
done
$C --model="$OUT/hf_tiny_float32.json" --max-len=2048 --max-batch=4 --target=cuda \
  --rewrite-options="budget-tokens=1000000 interval=32 block-size=512" -o "$OUT/hf_tiny_f32_full.so"
$C --model="$OUT/hf_tiny_bfloat16.json" --max-len=2048 --max-batch=4 --target=cuda \
  --rewrite-options="budget-fraction=0.1 fraction=0.0625 interval=32 block-size=512" -o "$OUT/hf_tiny_bf16.so"
# Qwen3-8B, 8 layers.
cat > "$OUT/hf_qwen3_8b_l8.json" <<EOF
{"model_type": "qwen3", "hidden_size": 4096, "intermediate_size": 12288, "num_hidden_layers": 8,
 "num_attention_heads": 32, "num_key_value_heads": 8, "head_dim": 128, "vocab_size": 151936,
 "max_position_embeddings": 262144, "rope_theta": 1000000.0, "torch_dtype": "bfloat16"}
EOF
$C --model="$OUT/hf_qwen3_8b_l8.json" --max-len=$((32768 + 256)) --max-batch=4 --target=cuda \
  --rewrite-options="budget-fraction=0.1 fraction=0.0625" -o "$OUT/hf_8b_l8_n32k.so"
$C --model="$OUT/hf_qwen3_8b_l8.json" --max-len=$((131072 + 256)) --max-batch=1 --target=cuda \
  --rewrite-options="budget-fraction=0.1 fraction=0.0625" -o "$OUT/hf_8b_l8_n128k.so"
ls -la "$OUT"/hf_*
