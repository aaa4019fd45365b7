// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/**
 * @title FeeToken
 * @notice An ERC-20 that keeps 1% of every transfer (a fee-on-transfer token): the recipient
 * receives less than the amount sent. The market must refuse payments in it.
 */
contract FeeToken is ERC20 {
    constructor() ERC20("fee-on-transfer token", "FOT") {}

    /// @notice Mints `amount` to `account`.
    function mint(address account, uint256 amount) external {
        _mint(account, amount);
    }

    function _update(address from, address to, uint256 value) internal override {
        if (from == address(0) || to == address(0)) {
            super._update(from, to, value);
            return;
        }
        uint256 fee = value / 100;
        super._update(from, address(0), fee);
        super._update(from, to, value - fee);
    }
}
