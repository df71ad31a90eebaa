// Package remote holds the controller commands that talk to a running controller over
// Connect: plan, apply, get, describe, history, rollback, reset and delete. Each takes
// --controller (or WEIR_CONTROLLER; default http://127.0.0.1:7070) and --output text|json,
// and exits non-zero on any failure. A write sent to a follower is retried once at the
// leader the follower names.
package remote
