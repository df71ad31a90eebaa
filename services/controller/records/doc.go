// Package records holds `controller send` and `controller tail`, which produce and read
// records of a topic directly in Kafka (like `faust send` and a console consumer). With
// --app NAME they fetch the app's current version from the controller and use its codecs
// (string, json, bytes or a model's typed-record codec) and its topic names; without it, keys
// are strings and values JSON (or --value-codec).
package records
