package topics

// Murmur2 is the 32-bit MurmurHash2 variant used by the Java Kafka client
// (org.apache.kafka.common.utils.Utils.murmur2): seed 0x9747b28c, little-endian 4-byte blocks.
func Murmur2(data []byte) int32 {
	const (
		seed uint32 = 0x9747b28c
		m    uint32 = 0x5bd1e995
		r           = 24
	)
	n := len(data)
	h := seed ^ uint32(n)
	i := 0
	for ; i+4 <= n; i += 4 {
		k := uint32(data[i]) | uint32(data[i+1])<<8 | uint32(data[i+2])<<16 | uint32(data[i+3])<<24
		k *= m
		k ^= k >> r
		k *= m
		h *= m
		h ^= k
	}
	switch n - i {
	case 3:
		h ^= uint32(data[i+2]) << 16
		fallthrough
	case 2:
		h ^= uint32(data[i+1]) << 8
		fallthrough
	case 1:
		h ^= uint32(data[i])
		h *= m
	}
	h ^= h >> 13
	h *= m
	h ^= h >> 15
	return int32(h)
}

// KeyPartition is the partition the Java client's default partitioner (and so Kafka Streams,
// Faust's default and kafka-go's Murmur2Balancer) chooses for a non-nil key among n partitions.
func KeyPartition(key []byte, n int) int32 {
	if n <= 0 {
		return 0
	}
	return int32((uint32(Murmur2(key)) & 0x7fffffff) % uint32(n))
}
