#!/bin/bash
# Submit a samlab sweep to SLURM: the shard array (sweep.sbatch), then the merge, which runs once
# every shard has finished and writes OUT/cells.csv.
#   examples/slurm/submit.sh specs/af22_fig14_rho_sweep.toml sweeps/fig14 [N]
set -euo pipefail
SPEC=${1:?usage: submit.sh SPEC OUT [N]}
OUT=${2:?usage: submit.sh SPEC OUT [N]}
N=${3:-4}
SAMLAB=${SAMLAB:-target/release/samlab}
here=$(dirname "$0")

job=$(sbatch --parsable --array="0-$((N - 1))" \
    --export="ALL,SPEC=$SPEC,OUT=$OUT,SAMLAB=$SAMLAB" "$here/sweep.sbatch")
sbatch --parsable --job-name=samlab-merge --dependency="afterok:${job%%;*}" \
    --output="slurm-%j-merge.out" --wrap "$SAMLAB sweep merge $OUT --parquet"
echo "submitted shards $job (N = $N) and their merge; results in $OUT/cells.csv and $OUT/cells.parquet"
