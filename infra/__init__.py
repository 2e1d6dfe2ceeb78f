"""The bottom layer: settings, Kafka plumbing (topics, publisher, end offsets), GC pauses."""
