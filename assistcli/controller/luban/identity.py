"""Who signed a request of Alibaba's agent: the instance named in `x-acs-instance-id`, when
`x-acs-signature` verifies with the key it registered, its timestamp is within the allowed
clock skew, and its request id was not used already (the agent also sends its signed headers to
the metadata address, where anyone on its network could copy them)."""

from __future__ import annotations

from assistcli.controller.luban import signature
from assistcli.controller.luban.calls import Call, refusal

GUARD_CAPACITY = 500_000  # request ids remembered at once: 15 min of a 500 requests/s fleet


class Identity:
    def __init__(self) -> None:
        self.replays = signature.ReplayGuard(GUARD_CAPACITY)

    async def verify(self, call: Call) -> str:
        """The instance id of a signed request, or a 401 saying what is wrong with it."""
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
        if key is None:
            raise refusal(401, "Agent.NotRegistered", "The instance is not registered.")
        if not signature.valid(
            key.public_key, sign, instance_id, key.machine_id, stamp, request_id
        ):
            raise refusal(401, "Agent.InvalidSignature", "The signature does not match.")
        try:
            fresh = self.replays.first_use(request_id, sent + skew, ctx.now)
        except OverflowError as error:
            raise refusal(503, "ServiceUnavailable", f"{error}; try again.") from None
        if not fresh:
            raise refusal(401, "Agent.ReplayedRequest", "The request id was used already.")
        return instance_id
