#!/bin/sh
# SageMaker starts the container as `IMAGE train` (training jobs on AWS), `IMAGE serve`
# (endpoints, batch transform), or with no argument (ModelTrainer local mode). Anything
# else is an error, so a typo does not silently train.
set -e
mode="${1:-train}"
case "$mode" in
  train) exec Rscript /opt/program/train.R ;;
  serve) exec Rscript /opt/program/serve.R ;;
  *) echo "usage: [train|serve] (got '$mode')" >&2; exit 2 ;;
esac
