#!/usr/bin/env bash
# Lesson 05's GPU check, as one command: run it from the repository root on a
# machine with a CUDA GPU.
#
#   bash bench/gpu_check_lesson05.sh                # about 4-6 minutes on one H100
#   bash bench/gpu_check_lesson05.sh --notebook     # also the lesson in the gpu profile (+~8 min)
#   bash bench/gpu_check_lesson05.sh --compile      # also a torch.compile row per lesson in 2b
#
# 1. memory and speed table: the paper's CycleGAN (resnet_9blocks, basic D, 256 px), full
#    training iterations, fp32 and mixed precision (--amp), batch 1 and 4, each in a fresh
#    process (images/s and torch.cuda.max_memory_allocated);
# 2. the library's bench ratio (bench/bench_cyclegan.py: plain fp32 vs our fast path), batch 1 and 4;
#    then every lesson's training loop in the gpu profile (bench/course_speed.py; with
#    --compile also under torch.compile, whose warm-up column is the compile time);
# 3. the lesson's training cell at full scale from the command line: the paper's flags plus
#    --amp on 256-px offline data (150 images), killed in epoch 2, then --continue_train;
# 4. (--notebook) the lesson itself, COURSE_PROFILE=gpu with a 2-minute training budget.
#
# Needs torch with CUDA, torchvision, numpy, pillow and tqdm; the course is used from this
# checkout (PYTHONPATH), so nothing is installed and no network is needed. Everything is
# written under $OUT (the device tool's output folder) or build/gpu_check.
set -euo pipefail

NOTEBOOK=no
SPEED_FLAGS=()
for arg in "$@"; do
    case $arg in
        --notebook) NOTEBOOK=yes ;;
        --compile) SPEED_FLAGS+=(--compile) ;;
        *) echo "gpu_check_lesson05.sh: unknown option '$arg' (expected --notebook, --compile)" >&2; exit 2 ;;
    esac
done

if [ -z "${PY:-}" ]; then
    if [ -x .venv/bin/python ]; then PY=.venv/bin/python; else PY=python3; fi
fi
ROOT=$(pwd)
DEST=${OUT:-$ROOT/build/gpu_check}
WORK=$DEST/lesson05
mkdir -p "$WORK"
export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
LOG=$DEST/gpu_check_lesson05.log
exec > >(tee "$LOG") 2>&1

"$PY" - <<'EOF'
import sys, torch
if not torch.cuda.is_available():
    sys.exit("no CUDA GPU visible to torch: this check needs one (see the lesson's cpu profile otherwise)")
print(f"torch {torch.__version__}, CUDA {torch.version.cuda}, {torch.cuda.get_device_name(0)}, "
      f"{torch.cuda.get_device_properties(0).total_memory / 2**30:.0f} GiB, "
      f"bf16 {'yes' if torch.cuda.is_bf16_supported() else 'no'}, GPUs {torch.cuda.device_count()}")
EOF
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true

echo; echo "== 1. memory and speed: resnet_9blocks + basic D, 256 px, full iterations =="
"$PY" bench/speed_table.py --size 256 --batch_sizes 1 4 --warmup 5 --iters 30 \
    | tee "$DEST/speed_table.txt"

echo; echo "== 2. bench ratio: plain fp32 eager vs our fast path (bench/bench_cyclegan.py) =="
for batch in 1 4; do
    "$PY" bench/bench_cyclegan.py --size 256 --batch_size "$batch" --warmup 5 --iters 20 \
        | tee "$DEST/bench_batch$batch.txt"
done

echo; echo "== 2b. steps per second of every lesson's training loop, gpu profile (bench/course_speed.py) =="
"$PY" bench/course_speed.py --profile gpu "${SPEED_FLAGS[@]}" | tee "$DEST/course_speed_gpu.txt"

echo; echo "== 3. the lesson's training at full scale: 2 epochs of 150 images, killed, resumed =="
"$PY" - "$WORK/datasets/digits2color" <<'EOF'
import sys
from cyclegan_lib.lessons import full_scale as fs
print(fs.count_images(fs.build_digit_folders(sys.argv[1], size=256, n_train=150, n_test=8)))
EOF
FLAGS=$("$PY" -c "from cyclegan_lib.lessons.full_scale import PAPER_FLAGS; print(PAPER_FLAGS)")
COMMON="$FLAGS --dataroot $WORK/datasets/digits2color --name gpu_check --checkpoints_dir $WORK/checkpoints
        --gpu_ids 0 --amp --num_threads 4 --print_freq 50 --display_id -1 --n_epochs 2 --n_epochs_decay 0"
start=$(date +%s.%N)
# A session that dies: SIGKILL at image 225, halfway through epoch 2 (epoch 1 was saved at 150).
# shellcheck disable=SC2086
"$PY" -m cyclegan_lib train $COMMON --debug_kill_at_iter 225 || echo "(killed, exit code $?)"
middle=$(date +%s.%N)
# shellcheck disable=SC2086
"$PY" -m cyclegan_lib train $COMMON --continue_train
end=$(date +%s.%N)
"$PY" - "$start" "$middle" "$end" <<'EOF'
import sys
start, middle, end = map(float, sys.argv[1:])
print(f"until the kill (225 iterations): {middle - start:.1f} s wall, process start included; "
      f"resumed epoch 2 (150 iterations): {end - middle:.1f} s")
EOF
tail -n 3 "$WORK/checkpoints/gpu_check/loss_log.txt"
ls "$WORK/checkpoints/gpu_check"

if [ "$NOTEBOOK" = yes ]; then
    echo; echo "== 4. the lesson in the gpu profile, 2-minute training budget =="
    COURSE_PROFILE=gpu COURSE_BUILD_DIR=$DEST/build LESSON05_TRAIN_MINUTES=2 MPLBACKEND=Agg \
        "$PY" -m jupyter nbconvert --to notebook --execute notebooks/05_cyclegan_full_scale.ipynb \
        --ExecutePreprocessor.timeout=1800 --output "$DEST/05_cyclegan_full_scale.gpu.ipynb"
    cat "$DEST/build/results/05_cyclegan_full_scale.json"
fi

echo; echo "== summary =="
tail -n 5 "$DEST/speed_table.txt"
grep -h "speed-up" "$DEST"/bench_batch*.txt
echo "log: $LOG"
