# Hosting half of the contract: an HTTP server on port 8080 (or $SAGEMAKER_BIND_TO_PORT)
# with GET /ping and POST /invocations. SageMaker has put the contents of model.tar.gz
# under /opt/ml/model. Real-time endpoints, serverless endpoints and batch transform all
# talk to the container through these same two routes.

source("/opt/program/common.R")
suppressPackageStartupMessages(library(plumber))

bundle <- tryCatch(readRDS(MODEL_FILE), error = function(e) {
  message("Cannot load the model from ", MODEL_FILE, ": ", conditionMessage(e))
  quit(save = "no", status = 1)
})
N_FEATURES <- length(bundle$features)
EXPECTED <- sprintf("%d numeric features per row (%s)", N_FEATURES,
                    paste(bundle$features, collapse = ", "))
CSV_TYPE <- "text/csv"
JSON_TYPE <- "application/json"

# A client error: the caller sent something the model cannot use (answered with a 4xx).
client_error <- function(status, message) {
  structure(class = c("client_error", "error", "condition"),
            list(message = message, call = NULL, status = status))
}
bad_request <- function(...) stop(client_error(400L, sprintf(...)))

media_type <- function(header) {
  if (is.null(header) || !nzchar(header)) return("")
  tolower(trimws(strsplit(header, ";", fixed = TRUE)[[1]][1]))
}

# text/csv: one row per line, no header, values in the training column order.
parse_csv <- function(text) {
  lines <- strsplit(text, "\r?\n")[[1]]
  lines <- lines[nzchar(trimws(lines))]
  if (length(lines) == 0) bad_request("the CSV body has no rows; expected %s", EXPECTED)
  cells <- strsplit(lines, ",", fixed = TRUE)
  # A header row equal to the feature names is allowed and skipped.
  if (identical(gsub('"', "", trimws(cells[[1]])), bundle$features)) cells <- cells[-1]
  if (length(cells) == 0) bad_request("the CSV body has a header but no rows")
  out <- matrix(NA_real_, nrow = length(cells), ncol = N_FEATURES)
  for (i in seq_along(cells)) {
    row <- trimws(cells[[i]])
    # strsplit drops a trailing empty field ("1,2,3,4," gives 4 pieces): count the commas.
    n_values <- nchar(gsub("[^,]", "", lines[i + (length(lines) - length(cells))])) + 1
    if (n_values != N_FEATURES) {
      bad_request("CSV row %d has %d value(s); the model expects %s",
                  i, n_values, EXPECTED)
    }
    row <- c(row, rep("", n_values - length(row)))
    values <- suppressWarnings(as.numeric(row))
    bad <- which(is.na(values) | !is.finite(values))
    if (length(bad) > 0) {
      bad_request("CSV row %d, column %d ('%s'): '%s' is not a number",
                  i, bad[1], bundle$features[bad[1]], row[bad[1]])
    }
    out[i, ] <- values
  }
  out
}

# application/json: {"instances": [[...], ...]} or {"instances": [{"name": value, ...}, ...]},
# or the bare list.
parse_json <- function(text) {
  doc <- tryCatch(fromJSON(text, simplifyVector = FALSE),
                  error = function(e) bad_request("the body is not valid JSON: %s",
                                                  conditionMessage(e)))
  instances <- if (is.list(doc) && !is.null(names(doc))) doc$instances else doc
  if (!is.list(instances) || length(instances) == 0) {
    bad_request('the JSON body needs a non-empty list "instances" of rows; each row is %s',
                paste("a list or an object of", EXPECTED))
  }
  out <- matrix(NA_real_, nrow = length(instances), ncol = N_FEATURES)
  for (i in seq_along(instances)) {
    row <- instances[[i]]
    if (is.list(row) && !is.null(names(row))) {
      missing <- setdiff(bundle$features, names(row))
      if (length(missing) > 0) {
        bad_request("JSON row %d lacks the feature(s) %s", i, paste(missing, collapse = ", "))
      }
      row <- row[bundle$features]
    }
    if (length(row) != N_FEATURES) {
      bad_request("JSON row %d has %d value(s); the model expects %s",
                  i, length(row), EXPECTED)
    }
    ok <- vapply(row, function(v) is.numeric(v) && length(v) == 1 && is.finite(v), logical(1))
    if (!all(ok)) {
      j <- which(!ok)[1]
      bad_request("JSON row %d, feature '%s' is not a number", i, bundle$features[j])
    }
    out[i, ] <- as.numeric(unlist(row))
  }
  out
}

# {"predictions": [{"label": ..., "probabilities": {"<class>": p, ...}}, ...]}.
# Numbers are written by fmt_num (jsonlite stops at 15 digits, which can change a double).
format_json <- function(pred) {
  keys <- vapply(colnames(pred$prob), function(k) as.character(toJSON(unbox(k))), "")
  rows <- vapply(seq_along(pred$label), function(i) {
    probs <- paste0(keys, ":", fmt_num(pred$prob[i, ]), collapse = ",")
    sprintf('{"label":%s,"probabilities":{%s}}', toJSON(unbox(pred$label[i])), probs)
  }, "")
  sprintf('{"predictions":[%s]}', paste(rows, collapse = ","))
}

reply <- function(res, status, body, type) {
  res$status <- status
  res$setHeader("Content-Type", type)
  res$body <- body
  res
}

invocations <- function(req, res) {
  tryCatch({
    content_type <- media_type(req$HTTP_CONTENT_TYPE)
    if (content_type == "") content_type <- CSV_TYPE  # SageMaker's default for CSV models
    if (!(content_type %in% c(CSV_TYPE, JSON_TYPE))) {
      stop(client_error(415L, sprintf(
        "unsupported Content-Type '%s'; send text/csv or application/json", content_type)))
    }
    accept <- media_type(req$HTTP_ACCEPT)
    if (accept %in% c("", "*/*")) accept <- content_type
    if (!(accept %in% c(CSV_TYPE, JSON_TYPE))) {
      stop(client_error(406L, sprintf(
        "unsupported Accept '%s'; ask for text/csv or application/json", accept)))
    }
    raw <- req$bodyRaw
    if (is.null(raw) || length(raw) == 0) {
      bad_request("empty request body; send one or more rows of %s", EXPECTED)
    }
    text <- rawToChar(raw)
    values <- if (content_type == CSV_TYPE) parse_csv(text) else parse_json(text)
    features <- as.data.frame(values)
    names(features) <- bundle$features
    pred <- predict_rows(bundle, features)
    if (accept == CSV_TYPE) {
      reply(res, 200L, predictions_csv(pred), CSV_TYPE)
    } else {
      reply(res, 200L, format_json(pred), JSON_TYPE)
    }
  },
  client_error = function(e) reply(res, e$status, paste0(conditionMessage(e), "\n"), "text/plain"),
  error = function(e) {
    message("invocation failed: ", conditionMessage(e))
    reply(res, 500L, paste0("internal error: ", conditionMessage(e), "\n"), "text/plain")
  })
}

ping <- function(req, res) reply(res, 200L, "", "text/plain")

# Batch transform asks for this once; it sizes the mini-batches it sends.
execution_parameters <- function(req, res) {
  body <- toJSON(list(MaxConcurrentTransforms = 1L, BatchStrategy = "MULTI_RECORD",
                      MaxPayloadInMB = 6L), auto_unbox = TRUE)
  reply(res, 200L, as.character(body), JSON_TYPE)
}

# plumber parses request bodies before the handler runs, and answers a parse error with its
# own 500. This parser hands every body over untouched; the handler parses it and answers
# bad input with a 4xx that says what is wrong.
register_parser("raw_body", function(...) function(value, ...) value, regex = ".*",
                verbose = FALSE)

port <- as.integer(Sys.getenv("SAGEMAKER_BIND_TO_PORT", "8080"))
message(sprintf("serving %s on port %d: %s", basename(MODEL_FILE), port, EXPECTED))
pr() |>
  pr_get("/ping", ping) |>
  pr_get("/execution-parameters", execution_parameters) |>
  pr_post("/invocations", invocations, parsers = "raw_body") |>
  pr_run(host = "0.0.0.0", port = port, docs = FALSE, quiet = TRUE)
