package pipeline

// AgentsReading returns the agents of task group group (every group when "") that process
// records of the Kafka topic, in the order a task runs them (an agent reading the topic at
// several stages is listed once).
func (p *Plan) AgentsReading(topic, group string) []string {
	var out []string
	for _, st := range p.routes[topic] {
		if group != "" && st.agent.group != group {
			continue
		}
		if len(out) == 0 || out[len(out)-1] != st.agent.name {
			out = append(out, st.agent.name)
		}
	}
	return out
}
