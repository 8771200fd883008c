from .infobatch_hook import InfoBatchHook, batch_sample_indices

__all__ = ['InfoBatchHook', 'batch_sample_indices']
