package cluster

// ConsumerGroup is the Kafka consumer group under which an app's workers commit their input
// positions (memberless commits, so Kafka's tools show the app's lag) and which reset rewinds.
func ConsumerGroup(app string) string { return "weir." + app }
