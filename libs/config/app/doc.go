// Package app is Weir's app language: HCL files that declare an app's models, topics,
// tables, agents and timers.
//
// Parse reads the files in two stages, as Nomad's jobspec2 does. First syntax and schema:
// each file is parsed with hclsyntax and every block is decoded against its own
// hcl.BodySchema, with attribute values checked for their type (a number where a string is
// wanted is an error here, not a silent conversion). Then Validate checks the app as a
// whole and reports every problem it finds at once: unknown references, duplicate names,
// partition counts that differ inside a task group, lookups that would read another task's
// partition, window parameters, durations, cron expressions and the references made by
// pipeline expressions. Every diagnostic is an hcl.Diagnostic with a Subject range, so
// hcl.NewDiagnosticTextWriter can print it with a snippet.
//
// Pipeline expressions are kept as hcl.Expression together with their source text and
// range; the worker compiles them. The app also derives its topology: task groups (see
// TaskGroups) and the internal topics they need (see InternalTopics).
//
// docs/language.md is the reference of the language.
package app
