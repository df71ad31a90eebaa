# Word count
#
# Reads lines of text from the `sentences` topic, splits them into lowercase words and
# counts each word in the `word_counts` table. Every new count is emitted to the
# `word_counts` topic, keyed by the word.
#
# `group_by` re-keys each record by its word and sends it through an internal
# repartition topic, so that all counts of one word live on the task that owns it.
#
#   controller validate examples/wordcount/app.hcl

app "wordcount" {
  partitions = 4
}

topic "sentences" {
  value = string
}

topic "word_counts" {
  key   = string
  value = json
}

table "word_counts" {
  value   = number
  default = 0
}

agent "count_words" {
  from = topic.sentences

  flat_map {
    value = split(" ", lower(trimspace(value)))
  }
  filter {
    when = value != ""
  }
  group_by {
    key = value
  }
  aggregate "count" {
    into = table.word_counts
  }
  emit {
    to = topic.word_counts
  }
}
