# Shared by train.R and serve.R: the SageMaker paths, and the one prediction function
# that both training (held-out predictions) and serving use, so they cannot disagree.

suppressPackageStartupMessages({
  library(jsonlite)
  library(randomForest)
})

PREFIX      <- Sys.getenv("SM_PREFIX", "/opt/ml")   # overridable only for tests
INPUT_DIR   <- file.path(PREFIX, "input")
CONFIG_DIR  <- file.path(INPUT_DIR, "config")
DATA_DIR    <- file.path(INPUT_DIR, "data")
MODEL_DIR   <- file.path(PREFIX, "model")
OUTPUT_DIR  <- file.path(PREFIX, "output")
MODEL_FILE  <- file.path(MODEL_DIR, "model.rds")

# Class probabilities and the predicted label for the rows of `features`.
# The label is the class with the highest probability, first class on a tie:
# predict(type = "response") breaks ties at random, which would make two calls disagree.
predict_rows <- function(bundle, features) {
  prob <- predict(bundle$model, newdata = features, type = "prob")
  prob <- matrix(as.numeric(prob), nrow = nrow(features),
                 dimnames = list(NULL, bundle$classes))
  label <- bundle$classes[max.col(prob, ties.method = "first")]
  list(label = label, prob = prob)
}

# The shortest of 15, 16 or 17 significant digits that reads back as the very same double,
# so a client that parses the text gets the model's numbers bit for bit.
fmt_num <- function(x) {
  out <- sprintf("%.17g", x)
  for (digits in c(16, 15)) {
    short <- sprintf(paste0("%.", digits, "g"), x)
    out <- ifelse(as.numeric(short) == x, short, out)
  }
  out
}

# One CSV line per row: label, then one probability per class (in bundle$classes order).
predictions_csv <- function(pred) {
  cells <- cbind(pred$label, matrix(fmt_num(pred$prob), nrow = nrow(pred$prob)))
  paste(apply(cells, 1, paste, collapse = ","), collapse = "\n")
}
