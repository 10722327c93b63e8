/** anemll's version, stamped into converted models and printed by `anemll --version`. */
export const VERSION = '0.1.0'
