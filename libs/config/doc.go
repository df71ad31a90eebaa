// Package config holds Weir's configuration: this package is the service configuration shared
// by the controller, worker and web binaries; the app language lives in libs/config/app.
//
// A service's settings come from four layers, each overriding the one before:
// built-in defaults < a config file (HCL) < environment variables (WEIR_*) < command-line flags.
// Every setting has one name in each layer, listed by Settings; Validate reports every problem
// at once.
package config
