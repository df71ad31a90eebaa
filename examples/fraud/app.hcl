# Fraud check
#
# Payments arrive on `payments`, keyed by account. The first agent looks up each
# account's limit in the global table `account_limits` (fed from the compacted
# `account_limits` topic and held whole on every worker, so the lookup never leaves the
# task) and forwards payments above it to `suspicious_payments`.
#
# The second agent runs `score_payment`, a Go handler compiled into the worker, on each
# suspicious payment. A payment it fails on is retried three times with backoff and then
# sent to `fraud_dead_letters` instead of stopping the task.
#
# A third agent keeps each account's total spend in `spend_per_day` (one-day hopping
# windows every hour), and a timer reports every five minutes.
#
#   controller validate -var min_amount=50 examples/fraud/app.hcl

variable "min_amount" {
  type        = number
  default     = 100
  description = "Payments below this amount are never suspicious."
}

locals {
  currency = "EUR"
}

app "fraud" {
  guarantee        = "exact_state"
  standby_replicas = 1
  partitions       = 12
  replication      = 3
}

model "Payment" {
  field "id" {
    type     = string
    required = true
  }
  field "account" {
    type     = string
    required = true
  }
  field "amount" {
    type     = number
    required = true
  }
  field "currency" {
    type    = string
    default = "EUR"
  }
  field "at" {
    type = timestamp
  }
}

model "Limit" {
  field "max_amount" {
    type     = number
    required = true
  }
}

topic "payments" {
  key       = string
  value     = model.Payment
  timestamp = value.at
  retention = "7d"
}

topic "account_limits" {
  partitions = 3
  value      = model.Limit
  cleanup    = "compact"
}

topic "suspicious_payments" {
  value = model.Payment
}

topic "fraud_dead_letters" {
  value     = bytes
  retention = "30d"
}

topic "fraud_reports" {
  value = json
}

table "account_limits" {
  global = true
  source = topic.account_limits
  value  = model.Limit
}

table "spend_per_day" {
  value   = number
  default = 0

  window "hopping" {
    size = "1d"
    step = "1h"
  }
}

agent "flag_large_payments" {
  from = topic.payments

  filter {
    when = value.amount >= var.min_amount && value.currency == local.currency
  }
  lookup "limit" {
    table = table.account_limits
    key   = value.account
  }
  filter {
    when = lookup.limit == null || value.amount > lookup.limit.max_amount
  }
  emit {
    to = topic.suspicious_payments
  }
}

agent "track_spend" {
  from = topic.payments

  aggregate "sum" {
    into  = table.spend_per_day
    value = value.amount
  }
}

agent "score" {
  from    = topic.suspicious_payments
  handler = "score_payment"

  on_error {
    retries     = 3
    backoff     = "200ms"
    max_backoff = "5s"
    then        = "dead_letter"
    dead_letter = topic.fraud_dead_letters
  }
}

timer "report" {
  every  = "5m"
  run_on = "one_worker"

  emit {
    to    = topic.fraud_reports
    value = { at = formatdate("YYYY-MM-DD'T'hh:mm:ssZ", timestamp), min_amount = var.min_amount }
  }
}
