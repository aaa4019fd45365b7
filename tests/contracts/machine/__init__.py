"""The model-based test's machinery: it drives the real contracts and holds them to the model.

:mod:`.views` reads the deployment's views in one ``eth_call`` through a compiled Solidity
harness (``contracts/test/ModelViews.sol``); :mod:`.checks` lists every view the model can predict;
:mod:`.driver` sends each action to the chain and compares; :mod:`.strategies` draws the actions'
arguments; :mod:`.seed` builds the state every example starts from; :mod:`.state_machine` is the
Hypothesis state machine that ``tests/contracts/test_model.py`` and ``tests/test_end_to_end.py``
run.
"""
