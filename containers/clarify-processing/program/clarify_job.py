"""The course's open-source re-implementation of the SageMaker Clarify processing job contract.

NOT AWS's Clarify image. It reads what a Clarify job reads and writes what it writes, as AWS
documents them:

* ``/opt/ml/processing/input/config/analysis_config.json`` (input ``analysis_config``)
  https://docs.aws.amazon.com/sagemaker/latest/dg/clarify-processing-job-configure-analysis.html
* the data set: every file under ``/opt/ml/processing/input/data`` (input ``dataset``),
  CSV without a header row, column names from ``headers``
* ``/opt/ml/processing/output/analysis.json`` and, with ``save_local_shap_values``,
  ``explanations_shap/out.csv``
  https://docs.aws.amazon.com/sagemaker/latest/dg/clarify-processing-job-analysis-results.html
* on bad configuration: the reason in ``/opt/ml/output/failure`` (which SageMaker shows as the
  job's FailureReason) and a non-zero exit.

Bias metrics come from ``smclarify``, the library AWS's container uses; Kernel SHAP from
``shap``; partial dependence is computed here on Clarify's grid (bucket centres).

One difference, on purpose: AWS's job starts a *shadow endpoint* from the ``predictor``'s
``model_name`` and sends it the rows over HTTP. This container has no endpoint to call: it
takes the same artefact that SageMaker model serves, ``model.tar.gz`` (the model files and
``code/<handler>.py``), from the extra input ``/opt/ml/processing/input/model``, and calls
the handler's ``model_fn``, ``input_fn``, ``predict_fn`` and ``output_fn`` in-process, with
the rows as CSV text, in the order a SageMaker framework serving container calls them.
"""

from __future__ import annotations

import importlib.util
import json
import math
import os
import sys
import tarfile
import tempfile
import traceback
from pathlib import Path

import numpy as np
import pandas as pd

INPUT = Path("/opt/ml/processing/input")
OUTPUT = Path("/opt/ml/processing/output")
FAILURE = Path("/opt/ml/output/failure")

PRE_TRAINING = ["CI", "DPL", "KL", "JS", "LP", "TVD", "KS", "CDDL"]
POST_TRAINING = ["DPPL", "DI", "DCA", "DCR", "RD", "SD", "DAR", "DRR", "AD", "CDDPL", "TE",
                 "FT", "GE"]  # smclarify's names, as in Clarify's docs


class ConfigError(Exception):
    """Bad configuration or data: the job fails with this message as its FailureReason."""


# ------------------------------------------------------------------------------ inputs
def as_list(value):
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


def read_config(root: Path) -> dict:
    path = root / "config" / "analysis_config.json"
    if not path.is_file():
        raise ConfigError(f"No analysis configuration: {path} does not exist "
                          "(the processing input must be named 'analysis_config').")
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise ConfigError(f"analysis_config.json is not valid JSON: {exc}") from exc


def read_dataset(root: Path, config: dict) -> pd.DataFrame:
    folder = root / "data"
    files = sorted(p for p in folder.rglob("*") if p.is_file()) if folder.is_dir() else []
    if not files:
        raise ConfigError(f"No data set: nothing under {folder} (input 'dataset').")
    if config.get("dataset_type", "text/csv") != "text/csv":
        raise ConfigError(f"dataset_type {config.get('dataset_type')!r} is not supported by "
                          "the course's container (it reads text/csv only).")
    headers = config.get("headers")
    frames = [pd.read_csv(f, header=None, names=headers) for f in files]
    df = pd.concat(frames, ignore_index=True)
    if headers is not None and len(df.columns) != len(headers):
        raise ConfigError(f"The data has {len(df.columns)} columns, headers name {len(headers)}.")
    return df


def column(df: pd.DataFrame, name_or_index, role: str) -> str:
    """The column's name, from a name or a 0-based index; a clear error otherwise."""
    if isinstance(name_or_index, int) and not isinstance(name_or_index, bool):
        if 0 <= name_or_index < len(df.columns):
            return str(df.columns[name_or_index])
    elif name_or_index in df.columns:
        return str(name_or_index)
    raise ConfigError(f"The {role} {name_or_index!r} is not a column of the data set; "
                      f"columns: {list(df.columns)}.")


def require_values(series: pd.Series, values: list, role: str, name: str) -> None:
    present = set(series.dropna().astype(str))
    missing = [v for v in values if str(v) not in present]
    if missing:
        raise ConfigError(f"The {role} value(s) {missing} never occur in column {name!r}.")


# ------------------------------------------------------------------------------ the model
HANDLER_FUNCTIONS = ("model_fn", "input_fn", "predict_fn", "output_fn")


class ServedModel:
    """A SageMaker model artefact and its inference handler, called in-process.

    ``model.tar.gz`` is unpacked as SageMaker unpacks it into ``/opt/ml/model``; the handler
    is ``code/$SAGEMAKER_PROGRAM`` (or the only ``.py`` file in ``code/``). A request is the
    rows as CSV text without a header, as Clarify sends them for ``content_type`` text/csv;
    the answer is one score per line (``accept_type`` text/csv).
    """

    def __init__(self, archive: Path, predictor: dict):
        self.model_dir = Path(tempfile.mkdtemp(prefix="model-"))
        with tarfile.open(archive) as tar:
            unsafe = [m.name for m in tar.getmembers()
                      if m.name.startswith("/") or ".." in Path(m.name).parts
                      or not (m.isfile() or m.isdir())]
            if unsafe:
                raise ConfigError(f"model.tar.gz holds entries outside the model folder or "
                                  f"links: {unsafe[:3]}.")
            tar.extractall(self.model_dir)
        code = self.model_dir / "code"
        program = os.environ.get("SAGEMAKER_PROGRAM")
        scripts = sorted(p.name for p in code.glob("*.py")) if code.is_dir() else []
        if program is None and len(scripts) == 1:
            program = scripts[0]
        if program is None or program not in scripts:
            raise ConfigError(f"model.tar.gz has no handler code/{program or '<name>.py'} "
                              f"(code/ holds {scripts}); set SAGEMAKER_PROGRAM to its name, "
                              "as the model's environment does on AWS.")
        sys.path.insert(0, str(code))  # the handler may import its neighbours
        spec = importlib.util.spec_from_file_location(Path(program).stem, code / program)
        handler = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(handler)
        missing = [f for f in HANDLER_FUNCTIONS if not callable(getattr(handler, f, None))]
        if missing:
            raise ConfigError(f"The handler {program} lacks {missing}: the course's "
                              f"container calls {', '.join(HANDLER_FUNCTIONS)}.")
        self.handler = handler
        self.model = handler.model_fn(str(self.model_dir))
        self.content_type = predictor.get("content_type", "text/csv")
        self.accept = predictor.get("accept_type", "text/csv")
        if self.content_type != "text/csv" or self.accept != "text/csv":
            raise ConfigError("The course's container sends text/csv and reads text/csv "
                              f"answers; the predictor asks for {self.content_type} -> "
                              f"{self.accept}.")

    def predict_proba(self, rows: pd.DataFrame) -> np.ndarray:
        """One request: the rows as CSV, through input_fn, predict_fn and output_fn."""
        h = self.handler
        body = rows.to_csv(header=False, index=False)
        answer = h.output_fn(h.predict_fn(h.input_fn(body, self.content_type), self.model),
                             self.accept)
        if isinstance(answer, tuple):  # (body, content type), as the serving toolkits take
            answer = answer[0]
        if isinstance(answer, bytes):
            answer = answer.decode()
        scores = np.array([float(line) for line in str(answer).split()])
        if len(scores) != len(rows):
            raise ConfigError(f"The model answered {len(scores)} scores for {len(rows)} "
                              "rows: text/csv answers carry one score per line.")
        return scores


def load_model(root: Path, config: dict) -> ServedModel:
    path = root / "model" / "model.tar.gz"
    predictor = config.get("predictor") or {}
    if not path.is_file():
        name = predictor.get("model_name", "?")
        raise ConfigError(
            f"No model at {path}. AWS's Clarify starts a shadow endpoint from model_name "
            f"{name!r}; the course's container calls that model's handler in-process and "
            "takes its model.tar.gz from the input 'model' instead.")
    return ServedModel(path, predictor)


# ------------------------------------------------------------------------------ bias
def bias_metrics(df: pd.DataFrame, config: dict, stage: str, methods,
                 predicted: pd.Series | None = None) -> dict:
    """``pre_training_bias_metrics`` or ``post_training_bias_metrics`` of analysis.json."""
    from smclarify.bias import report

    label = column(df, config.get("label"), "label")
    label_values = as_list(config.get("label_values_or_threshold"))
    if not label_values:
        raise ConfigError("label_values_or_threshold is missing: name the favourable label(s).")
    require_values(df[label], label_values, "label", label)
    if not config.get("facet"):
        raise ConfigError("No facet: the bias configuration names no facet column.")
    group = None
    if config.get("group_variable") is not None:
        group = df[column(df, config["group_variable"], "group variable")]
    names = (PRE_TRAINING if stage == "pre" else POST_TRAINING) if methods == "all" else methods
    names = list(dict.fromkeys(as_list(names)))
    # Categorical facet and label (smclarify reads numeric 0/1 columns as continuous).
    label_series = df[label].astype(str).astype("category")
    label_values = [str(v) for v in label_values]
    facets = {}
    for facet in config["facet"]:
        name = column(df, facet.get("name_or_index"), "facet")
        values = [str(v) for v in as_list(facet.get("value_or_threshold"))]
        if values:
            require_values(df[name], values, "facet", name)
        frame = df.drop(columns=[label]).assign(**{name: df[name].astype(str).astype("category")})
        kwargs = {}
        stage_type = report.StageType.PRE_TRAINING
        if stage == "post":
            stage_type = report.StageType.POST_TRAINING
            kwargs["predicted_label_column"] = report.LabelColumn(
                "_predicted_label", predicted.astype(str).astype("category"), label_values)
        results = report.bias_report(
            frame, report.FacetColumn(name, values or None),
            report.LabelColumn(label, label_series, label_values), stage_type,
            metrics=names, group_variable=group, **kwargs)
        facets[name] = [json.loads(json.dumps(r, default=_jsonable)) for r in results]
    return {"label": label, "label_value_or_threshold": ",".join(label_values),
            "facets": facets}


def _jsonable(value):
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    return str(value)


def predicted_labels(df: pd.DataFrame, config: dict, model: ServedModel | None) -> pd.Series:
    """Predicted labels: the data set's ``predicted_label`` column, else the model's."""
    label_values = [str(v) for v in as_list(config.get("label_values_or_threshold"))]
    if config.get("predicted_label") is not None:
        return df[column(df, config["predicted_label"], "predicted_label")].astype(str)
    if model is None:
        raise ConfigError("Post-training bias needs predictions: a 'predictor' (model) or a "
                          "'predicted_label' column.")
    threshold = float(config.get("probability_threshold", 0.5))
    positive = model.predict_proba(features_of(df, config)) > threshold
    return pd.Series(np.where(positive, label_values[0], "__not_" + label_values[0]))


# ------------------------------------------------------------------------------ SHAP, PDP
def features_of(df: pd.DataFrame, config: dict) -> pd.DataFrame:
    drop = [config.get("label"), config.get("predicted_label"),
            *as_list(config.get("excluded_columns"))]
    return df.drop(columns=[c for c in drop if c is not None and c in df.columns])


def kernel_shap(df: pd.DataFrame, config: dict, model: ServedModel, shap_cfg: dict):
    """Global and local Kernel SHAP values, as Clarify reports them."""
    import shap

    X = features_of(df, config)
    baseline = shap_cfg.get("baseline")
    if baseline is None or (isinstance(baseline, list) and len(baseline) == 0):
        raise ConfigError("The SHAP baseline is missing: give 'baseline' rows "
                          "(the course's container does not build one by k-means).")
    if isinstance(baseline, str):
        raise ConfigError("A baseline given as an S3 URI is not supported by the course's "
                          "container: pass the baseline rows in the configuration.")
    base = pd.DataFrame(baseline)
    if base.shape[1] != X.shape[1]:
        raise ConfigError(f"Each baseline row needs {X.shape[1]} values (the features "
                          f"{list(X.columns)}); got {base.shape[1]}.")
    base.columns = X.columns
    # shap needs numbers: text columns become codes over the values seen, decoded for the model.
    codes = {c: sorted(set(X[c].astype(str)) | set(base[c].astype(str)))
             for c in X.columns if not pd.api.types.is_numeric_dtype(X[c])}

    def encode(frame):
        out = frame.copy()
        for c, cats in codes.items():
            out[c] = pd.Categorical(frame[c].astype(str), categories=cats).codes
        return out.to_numpy(dtype=float)

    def decode(a):
        frame = pd.DataFrame(np.asarray(a, dtype=float), columns=X.columns)
        for c, cats in codes.items():
            frame[c] = np.asarray(cats, dtype=object)[frame[c].astype(int).to_numpy()]
        return frame

    def f(a):
        return model.predict_proba(decode(a))

    use_logit = bool(shap_cfg.get("use_logit", False))
    if shap_cfg.get("seed") is not None:
        np.random.seed(int(shap_cfg["seed"]))
    explainer = shap.KernelExplainer(f, encode(base), link="logit" if use_logit else "identity")
    values = np.asarray(explainer.shap_values(
        encode(X), nsamples=int(shap_cfg.get("num_samples", 2 * X.shape[1] + 2048)),
        l1_reg=False, silent=True))
    agg = shap_cfg.get("agg_method", "mean_abs")
    aggregate = {"mean_abs": lambda v: np.abs(v).mean(axis=0),
                 "median": lambda v: np.median(np.abs(v), axis=0),
                 "mean_sq": lambda v: (v ** 2).mean(axis=0)}
    if agg not in aggregate:
        raise ConfigError(f"agg_method {agg!r} is not one of {sorted(aggregate)}.")
    global_values = dict(zip(X.columns, map(float, aggregate[agg](values))))
    expected = float(np.ravel(explainer.expected_value)[0])
    return {"global_shap_values": global_values, "expected_value": expected}, \
        pd.DataFrame(values, columns=X.columns)


def pdp(df: pd.DataFrame, config: dict, model: ServedModel, pdp_cfg: dict,
        ranking: list[str]) -> list[dict]:
    """Partial dependence on Clarify's grid: centres of equal-width buckets."""
    X = features_of(df, config)
    features = as_list(pdp_cfg.get("features")) or ranking[: int(pdp_cfg.get("top_k_features", 10))]
    if not features:
        raise ConfigError("PDP needs 'features', or a SHAP analysis to pick the top features.")
    resolution = int(pdp_cfg.get("grid_resolution", 15))
    label_name = config.get("label") or "label0"
    out = []
    for name in features:
        feature = column(X, name, "PDP feature")
        col = X[feature]
        if pd.api.types.is_numeric_dtype(col):
            edges = np.linspace(col.min(), col.max(), resolution + 1)
            grid = (edges[:-1] + edges[1:]) / 2
            counts, _ = np.histogram(col, bins=edges)
            data_type = "numerical"
        else:
            grid = np.array(sorted(col.astype(str).unique()), dtype=object)
            counts = np.array([(col.astype(str) == g).sum() for g in grid])
            data_type = "categorical"
        predictions = [float(model.predict_proba(X.assign(**{feature: g})).mean())
                       for g in grid]
        out.append({
            "feature_name": feature,
            "data_type": data_type,
            "feature_values": [g.item() if hasattr(g, "item") else g for g in grid],
            "data_distribution": [float(c) / len(col) for c in counts],
            "model_predictions": [predictions],
            "label_headers": [label_name],
        })
    return out


# ------------------------------------------------------------------------------ the job
def run(root: Path = INPUT, output: Path = OUTPUT) -> dict:
    config = read_config(root)
    methods = config.get("methods") or {}
    known = {"pre_training_bias", "post_training_bias", "shap", "pdp", "report"}
    unknown = sorted(set(methods) - known)
    if unknown or not set(methods) - {"report"}:
        raise ConfigError(f"methods must name at least one of {sorted(known - {'report'})} "
                          f"(the course's container runs those); got {sorted(methods)}.")
    df = read_dataset(root, config)
    if config.get("label") is not None:
        config["label"] = column(df, config["label"], "label")
    model = None
    needs_model = "shap" in methods or "pdp" in methods or (
        "post_training_bias" in methods and config.get("predicted_label") is None)
    if needs_model:
        model = load_model(root, config)
    analysis: dict = {"version": "1.0"}
    if "pre_training_bias" in methods:
        analysis["pre_training_bias_metrics"] = bias_metrics(
            df, config, "pre", methods["pre_training_bias"].get("methods", "all"))
    if "post_training_bias" in methods:
        predicted = predicted_labels(df, config, model)
        analysis["post_training_bias_metrics"] = bias_metrics(
            df, config, "post", methods["post_training_bias"].get("methods", "all"), predicted)
    explanations: dict = {}
    ranking: list[str] = []
    if "shap" in methods:
        label_key = (config.get("predictor", {}).get("label_headers") or ["label0"])[0]
        global_values, local = kernel_shap(df, config, model, methods["shap"])
        explanations["kernel_shap"] = {label_key: global_values}
        ranking = sorted(global_values["global_shap_values"],
                         key=lambda k: -global_values["global_shap_values"][k])
        if methods["shap"].get("save_local_shap_values", True):
            (output / "explanations_shap").mkdir(parents=True, exist_ok=True)
            # AWS's image names each column <feature>_<label> (AWS's sample notebooks strip
            # "_label0" to get the feature names back)
            local.columns = [f"{c}_{label_key}" for c in local.columns]
            local.to_csv(output / "explanations_shap" / "out.csv", index=False)
    if "pdp" in methods:
        explanations["pdp"] = pdp(df, config, model, methods["pdp"], ranking)
    if explanations:
        analysis["explanations"] = explanations
    output.mkdir(parents=True, exist_ok=True)
    (output / "analysis.json").write_text(json.dumps(analysis, indent=1, allow_nan=True))
    return analysis


def fail(message: str, failure: Path = FAILURE) -> int:
    failure.parent.mkdir(parents=True, exist_ok=True)
    failure.write_text(message[:1024])
    print(f"ClientError: {message}", file=sys.stderr)
    return 1


def main() -> int:
    try:
        analysis = run()
    except ConfigError as exc:
        return fail(f"ClientError: {exc}")
    except Exception as exc:  # noqa: BLE001 - any other error is the job's failure too
        traceback.print_exc()
        return fail(f"AlgorithmError: {type(exc).__name__}: {exc}")
    print("analysis.json written with:", ", ".join(k for k in analysis if k != "version"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
