from .infobatch_hook import InfoBatchHook

__all__ = ["InfoBatchHook"]
