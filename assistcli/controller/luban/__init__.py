"""Serving Alibaba's own Cloud Assistant agent (aliyun-service) under `/luban/`, beside agentd's
`/agent/v1/`: its registration, signed requests, task lists, reports, WebSocket wake-ups and the
requests it needs answered. The protocol is described in docs/official-agent.md."""
