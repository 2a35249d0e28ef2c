"""Who signed a request of Alibaba's agent: the instance named in `x-acs-instance-id`, when
`x-acs-signature` verifies with the key it registered, its timestamp is within the allowed
clock skew, and its request id was not used already (the agent also sends its signed headers to
the metadata address, where anyone on its network could copy them). Used request ids are kept in
the store, as the API's nonces are: a request replayed to another controller is refused too.

An instance deregistered while its agent listens on this controller's WebSocket is told to
forget its identity (see notify.py): the request that follows, its own deregistration, is
checked with the key it had, kept here for DEPARTURE seconds."""

from __future__ import annotations

from assistcli.controller.luban import signature
from assistcli.controller.luban.calls import Call, refusal
from assistcli.controller.models import AgentKey

DEPARTURE = 60.0  # seconds a deregistered agent told to forget its identity may say it did


class Identity:
    def __init__(self) -> None:
        self._departing: dict[str, tuple[AgentKey, float]] = {}

    def departing(self, instance_id: str, key: AgentKey, now: float) -> None:
        """The instance was deregistered and its agent told so: accept its deregistration."""
        self._departing = {i: d for i, d in self._departing.items() if d[1] > now}
        self._departing[instance_id] = (key, now + DEPARTURE)

    def departed(self, instance_id: str) -> bool:
        """Whether the agent was told to forget its identity (once: it forgets it after)."""
        return self._departing.pop(instance_id, None) is not None

    async def verify(self, call: Call, departing: bool = False) -> str:
        """The instance id of a signed request, or a 401 saying what is wrong with it;
        `departing`: also of an instance deregistered lately, whose agent was told so."""
        headers, ctx = call.request.headers, call.ctx
        instance_id = headers.get("x-acs-instance-id", "")
        stamp = headers.get("x-acs-timestamp", "")
        request_id = headers.get("x-acs-request-id", "")
        sign = headers.get("x-acs-signature", "")
        if not (instance_id and stamp and request_id and sign):
            raise refusal(401, "Agent.MissingSignature", "The request is not signed.")
        try:
            sent = int(stamp) / 1000
        except ValueError:
            raise refusal(
                401, "Agent.InvalidTimestamp", "x-acs-timestamp is not a number."
            ) from None
        skew = ctx.settings.max_clock_skew
        if abs(ctx.now - sent) > skew:
            why = f"x-acs-timestamp is more than {skew:.0f} s away from the server's clock."
            raise refusal(401, "Agent.InvalidTimestamp", why)
        key = await ctx.store.get_agent_key(instance_id)
        told = self._departing.get(instance_id) if departing else None
        if key is None and told is not None and told[1] > ctx.now:
            key = told[0]
        if key is None:
            raise refusal(401, "Agent.NotRegistered", "The instance is not registered.")
        if not signature.valid(
            key.public_key, sign, instance_id, key.machine_id, stamp, request_id
        ):
            raise refusal(401, "Agent.InvalidSignature", "The signature does not match.")
        # Kept past the window in which the timestamp is accepted, whichever side it is on.
        if not await ctx.store.use_nonce(f"luban:{instance_id}:{request_id}", ctx.now, 2 * skew):
            raise refusal(401, "Agent.ReplayedRequest", "The request id was used already.")
        return instance_id
