// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

/**
 * @title ModelViews
 * @notice The model-based test's reader (tests/contracts/test_model.py): after every step it
 * reads ~100 view functions of the deployment, and the native balances of the accounts, in one
 * `eth_call` instead of one each. Compiled with the other harnesses into tests/artifacts;
 * never deployed outside a test chain.
 */
contract ModelViews {
    /**
     * @notice The view call at `index` of a {read} reverted with `data`.
     * @param index The call's position in the lists given to {read}.
     * @param data The call's revert data, for the test to name the error.
     */
    error ViewReverted(uint256 index, bytes data);

    /**
     * @notice Calls each of `targets` with the calldata at the same position of `data`, by
     * STATICCALL and in order, and returns what each returned.
     * @dev Plain arrays and one revert for any failure keep the work per call small: the test
     * runs this after every step on py-evm, where every opcode counts.
     *
     * Requirements:
     *
     * - `targets` and `data` have the same length.
     * - No call reverts; the first that does reverts the whole read with {ViewReverted}.
     *
     * @param targets The contracts to call.
     * @param data The calldata of each call.
     * @return answers The return data of each call, in the order of `targets`.
     */
    function read(address[] calldata targets, bytes[] calldata data)
        external
        view
        returns (bytes[] memory answers)
    {
        answers = new bytes[](targets.length);
        for (uint256 i = 0; i < targets.length; ++i) {
            (bool success, bytes memory answer) = targets[i].staticcall(data[i]);
            if (!success) revert ViewReverted(i, answer);
            answers[i] = answer;
        }
    }

    /**
     * @notice The native balance of each of `accounts` (what `eth_getBalance` says, for many).
     * @param accounts The accounts to read.
     * @return balances One balance per account, in the order of `accounts`.
     */
    function balancesOf(address[] calldata accounts)
        external
        view
        returns (uint256[] memory balances)
    {
        balances = new uint256[](accounts.length);
        for (uint256 i = 0; i < accounts.length; ++i) {
            balances[i] = accounts[i].balance;
        }
    }
}
