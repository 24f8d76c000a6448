"""The MQTT boundary: contract topics, the client, the durable outbox and command parsing."""
