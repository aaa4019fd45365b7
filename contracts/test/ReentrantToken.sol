// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @dev The market functions the token calls back into.
interface IMarketEntry {
    function buy(uint256 offerId) external payable returns (uint256 tradeId);
    function withdraw(address currency) external returns (uint256 amount);
}

/**
 * @title ReentrantToken
 * @notice A hostile ERC-20: while the market moves its tokens, it calls back into the market
 * once (to buy an offer again, or to withdraw again) and records how that call ended.
 */
contract ReentrantToken is ERC20 {
    /// @dev What to call during the next transfer: 0 nothing, 1 buy(offerId), 2 withdraw(this).
    uint8 private _attack;
    uint256 private _offerId;

    /// @notice Whether the last reentry succeeded, and the revert data it returned if not.
    bool public reentered;
    bytes public reentryError;

    constructor() ERC20("reentrant token", "RNT") {}

    /// @notice Mints `amount` to `account`.
    function mint(address account, uint256 amount) external {
        _mint(account, amount);
    }

    /// @notice Arms a reentry into `market` on the next transfer: buy `offerId`, or withdraw if 0.
    function arm(uint256 offerId) external {
        _attack = offerId == 0 ? 2 : 1;
        _offerId = offerId;
    }

    function _update(address from, address to, uint256 value) internal override {
        super._update(from, to, value);
        uint8 attack = _attack;
        if (attack == 0) return;
        _attack = 0;
        IMarketEntry market = IMarketEntry(msg.sender);
        if (attack == 1) {
            try market.buy(_offerId) {
                reentered = true;
            } catch (bytes memory reason) {
                reentryError = reason;
            }
        } else {
            try market.withdraw(address(this)) {
                reentered = true;
            } catch (bytes memory reason) {
                reentryError = reason;
            }
        }
    }
}
