# Training half of the contract. SageMaker has already put:
#   /opt/ml/input/config/hyperparameters.json   every value a string
#   /opt/ml/input/data/train/*.csv             the `train` channel (header row, target column)
#   /opt/ml/input/data/test/*.csv              optional `test` channel, same columns
# and expects the model under /opt/ml/model (SageMaker tars it into model.tar.gz).
# On failure it expects a reason in /opt/ml/output/failure and a non-zero exit code.

source("/opt/program/common.R")

fail <- function(message) {
  dir.create(OUTPUT_DIR, recursive = TRUE, showWarnings = FALSE)
  writeLines(message, file.path(OUTPUT_DIR, "failure"))
  message("Training failed: ", message)
  quit(save = "no", status = 1)
}

read_hyperparameters <- function() {
  path <- file.path(CONFIG_DIR, "hyperparameters.json")
  hp <- if (file.exists(path)) fromJSON(path) else list()
  defaults <- list(target = "Species", ntree = "500", mtry = "", seed = "42")
  unknown <- setdiff(names(hp), names(defaults))
  if (length(unknown) > 0) {
    stop(sprintf("unknown hyperparameter(s): %s (known: %s)",
                 paste(unknown, collapse = ", "), paste(names(defaults), collapse = ", ")))
  }
  hp <- modifyList(defaults, lapply(hp, as.character))
  as_int <- function(name, value, min) {
    n <- suppressWarnings(as.integer(value))
    if (is.na(n) || n < min || as.character(n) != trimws(value)) {
      stop(sprintf("hyperparameter %s must be an integer >= %d, got '%s'", name, min, value))
    }
    n
  }
  list(target = hp$target,
       ntree = as_int("ntree", hp$ntree, 1),
       mtry = if (nzchar(hp$mtry)) as_int("mtry", hp$mtry, 1) else NA_integer_,
       seed = as_int("seed", hp$seed, 0))
}

read_channel <- function(channel, required = TRUE) {
  dir <- file.path(DATA_DIR, channel)
  files <- sort(list.files(dir, pattern = "\\.csv$", full.names = TRUE, recursive = TRUE))
  if (length(files) == 0) {
    if (required) stop(sprintf("no .csv file in the '%s' channel (%s)", channel, dir))
    return(NULL)
  }
  do.call(rbind, lapply(files, read.csv, stringsAsFactors = FALSE, check.names = FALSE))
}

check_frame <- function(df, target, channel, feature_names = NULL) {
  if (!(target %in% names(df))) {
    stop(sprintf("the '%s' channel has no column '%s' (columns: %s)",
                 channel, target, paste(names(df), collapse = ", ")))
  }
  features <- df[, setdiff(names(df), target), drop = FALSE]
  if (!is.null(feature_names) && !identical(names(features), feature_names)) {
    stop(sprintf("the '%s' channel's feature columns (%s) differ from train's (%s)",
                 channel, paste(names(features), collapse = ", "),
                 paste(feature_names, collapse = ", ")))
  }
  bad <- names(features)[!vapply(features, is.numeric, logical(1))]
  if (length(bad) > 0) {
    stop(sprintf("feature column(s) %s in the '%s' channel are not numeric",
                 paste(bad, collapse = ", "), channel))
  }
  if (anyNA(features)) stop(sprintf("the '%s' channel has missing feature values", channel))
  features
}

main <- function() {
  hp <- read_hyperparameters()
  train <- read_channel("train")
  features <- check_frame(train, hp$target, "train")
  y <- factor(train[[hp$target]])
  if (nrow(train) < 10) stop(sprintf("only %d training rows; need at least 10", nrow(train)))
  if (nlevels(y) < 2) stop("the target has fewer than two classes")

  set.seed(hp$seed)
  args <- list(x = features, y = y, ntree = hp$ntree)
  if (!is.na(hp$mtry)) {
    if (hp$mtry > ncol(features)) {
      stop(sprintf("mtry = %d but there are only %d features", hp$mtry, ncol(features)))
    }
    args$mtry <- hp$mtry
  }
  model <- do.call(randomForest, args)
  bundle <- list(model = model, features = names(features), classes = levels(y),
                 target = hp$target, r_version = R.version.string,
                 randomForest_version = as.character(packageVersion("randomForest")))

  dir.create(MODEL_DIR, recursive = TRUE, showWarnings = FALSE)
  saveRDS(bundle, MODEL_FILE)

  oob_error <- tail(model$err.rate[, "OOB"], 1)
  metrics <- list(train_rows = nrow(train), ntree = hp$ntree, mtry = model$mtry,
                  oob_error = oob_error)
  # SageMaker metric definitions scrape lines like this one from the job's log.
  cat(sprintf("metric train:oob_error=%.6f\n", oob_error))

  test <- read_channel("test", required = FALSE)
  if (!is.null(test)) {
    test_features <- check_frame(test, hp$target, "test", bundle$features)
    pred <- predict_rows(bundle, test_features)
    accuracy <- mean(pred$label == as.character(test[[hp$target]]))
    metrics$test_rows <- nrow(test)
    metrics$test_accuracy <- accuracy
    cat(sprintf("metric test:accuracy=%.6f\n", accuracy))
    # The model's own predictions on the held-out rows, written exactly as serving writes them.
    writeLines(predictions_csv(pred), file.path(MODEL_DIR, "test_predictions.csv"))
  }
  write(toJSON(metrics, auto_unbox = TRUE, digits = NA, pretty = TRUE),
        file.path(MODEL_DIR, "metrics.json"))
  cat(sprintf("trained randomForest: %d trees, mtry %d, %d rows, classes %s\n",
              hp$ntree, model$mtry, nrow(train), paste(bundle$classes, collapse = "/")))
}

tryCatch(main(), error = function(e) fail(conditionMessage(e)))
