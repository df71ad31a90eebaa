// Package appcmd holds the controller's offline app commands: validate and fmt. Both
// work on files alone, with no controller, etcd or Kafka.
package appcmd
