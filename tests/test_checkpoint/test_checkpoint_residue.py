"""The residue of the earlier checkpoint cases: each is a named
``CheckpointTrustError``, not a bare exception from numpy or torch."""
import pytest
import torch

from mmib.checkpoint import CheckpointTrustError, read_checkpoint
from mmib.checkpoint.safety import (ArrayStandIn, BoundedDecoder,
                                    DtypeStandIn, plain_message_hub)


def _array(shape, raw=b''):
    dtype = DtypeStandIn('f8')
    array = ArrayStandIn()
    array.__setstate__((1, shape, dtype, False, raw))
    return array


def test_a_dtype_without_its_code_is_named():
    dtype = DtypeStandIn.__new__(DtypeStandIn)
    with pytest.raises(CheckpointTrustError, match='has no type code'):
        dtype.resolve()


@pytest.mark.parametrize('shape', [(0, 2**62), (1, ) * 65])
def test_absurd_array_shapes_are_named(shape):
    with pytest.raises(CheckpointTrustError, match='bad numpy array shape'):
        _array(shape)


def test_a_message_hub_tensor_that_requires_grad_is_named():
    data = torch.zeros(3, requires_grad=True)
    with pytest.raises(CheckpointTrustError, match='requires grad'):
        BoundedDecoder().walk(dict(buffer=[data]), 'message_hub')
    mark = '__mmib_plain__'
    with pytest.raises(CheckpointTrustError, match='requires grad'):
        BoundedDecoder().plain_array(
            {mark: 'ndarray', 'dtype': '<f4', 'data': data}, 'hub.log')


def test_a_stand_in_left_beside_a_plain_message_hub_is_named():
    from mmengine.logging import HistoryBuffer
    hub = plain_message_hub(dict(
        log_scalars={'train/loss': HistoryBuffer([1.0], [1])},
        runtime_info={}))
    checkpoint = dict(meta={}, message_hub=hub,
                      state_dict={'conv.weight': _array((2, ), b'\0' * 16)})
    with pytest.raises(CheckpointTrustError,
                       match=r"\['state_dict'\]\['conv.weight'\]"):
        read_checkpoint(checkpoint, True, print)
