# Page views per page per minute
#
# Counts the views of each page in one-minute tumbling windows, by the time the view
# happened (the `at` field of each record, not the time Kafka received it). A window
# accepts late views for 10 seconds after it ends; then its final count is sent to the
# `page_counts` topic and the window is kept for an hour for queries.
#
#   controller validate -var partitions=16 examples/pageviews/app.hcl

variable "partitions" {
  type        = number
  default     = 8
  description = "Partitions of the page_views topic and so of the counting task group."
}

app "pageviews" {
  standby_replicas = 1
  partitions       = var.partitions
}

model "PageView" {
  field "user" {
    type = string
  }
  field "page" {
    type     = string
    required = true
  }
  field "at" {
    type     = timestamp
    required = true
  }
}

topic "page_views" {
  value     = model.PageView
  timestamp = value.at
}

topic "page_counts" {
  value = json
}

table "views_per_minute" {
  value   = number
  default = 0

  window "tumbling" {
    size    = "1m"
    grace   = "10s"
    expires = "1h"
  }

  on_close = topic.page_counts
}

agent "count_views" {
  from = topic.page_views

  filter {
    when = value.page != ""
  }
  group_by {
    key = value.page
  }
  aggregate "count" {
    into = table.views_per_minute
  }
}
