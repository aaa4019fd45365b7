// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/**
 * @title TestToken
 * @notice A plain ERC-20 that anyone may mint: the payment currency of the market tests and of
 * the gas report.
 */
contract TestToken is ERC20 {
    constructor() ERC20("provledger test token", "PLT") {}

    /// @notice Mints `amount` to `account`.
    function mint(address account, uint256 amount) external {
        _mint(account, amount);
    }
}
