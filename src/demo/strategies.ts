/**
 * The demo vocabulary: the option strategies the demo classifiers choose
 * between and the market features they read. Used by the demo seed, the
 * tests and the benchmarks; real models bring their own labels and feature
 * names (feature_names.json, metadata.json).
 */

/** The 10 class labels of the demo models, in class-index order. */
export const OPTION_STRATEGIES: readonly string[] = Object.freeze([
  'IRON_CONDOR',
  'BULL_CALL_SPREAD',
  'BEAR_PUT_SPREAD',
  'LONG_STRADDLE',
  'SHORT_STRANGLE',
  'COVERED_CALL',
  'CASH_SECURED_PUT',
  'BUTTERFLY_SPREAD',
  'CALENDAR_SPREAD',
  'NO_TRADE',
]);

/** The 84 input features of the demo models, in input-column order. */
export const DEMO_FEATURE_NAMES: readonly string[] = Object.freeze([
  // Implied volatility level and regime
  'iv_rank',
  'iv_percentile',
  'iv_atm_30d',
  'iv_atm_60d',
  'iv_atm_90d',
  'iv_change_1d',
  'iv_change_5d',
  'iv_zscore_60d',
  'iv_hv_spread',
  'iv_hv_ratio',
  // Realised volatility
  'hv_10',
  'hv_20',
  'hv_30',
  'hv_60',
  'parkinson_vol_20',
  'garman_klass_vol_20',
  'atr_14_pct',
  'vol_of_vol_20',
  // Skew and smile
  'delta_skew',
  'skew_25d_risk_reversal',
  'skew_10d_risk_reversal',
  'butterfly_25d',
  'put_skew_slope',
  'call_skew_slope',
  'smile_curvature',
  // Term structure
  'term_structure_slope',
  'term_structure_curvature',
  'front_back_iv_ratio',
  'vix_term_ratio',
  'contango_flag',
  // Volatility indices
  'vix_level',
  'vix_change_1d',
  'vix_percentile_1y',
  'vvix_level',
  'vix9d_vix_ratio',
  'vix3m_vix_ratio',
  // Options flow and positioning
  'put_call_ratio',
  'put_call_oi_ratio',
  'option_volume_ratio',
  'unusual_call_volume',
  'unusual_put_volume',
  'open_interest_change_5d',
  'max_pain_distance',
  'gamma_exposure',
  'net_delta_exposure',
  'vanna_exposure',
  'charm_exposure',
  'dealer_gamma_flip_distance',
  // Expected move and events
  'expected_move_pct',
  'expected_move_ratio',
  'days_to_earnings',
  'days_to_expiration',
  'earnings_iv_crush_hist',
  'dividend_yield',
  'days_to_ex_dividend',
  // Momentum and trend
  'rsi_14',
  'rsi_2',
  'macd_signal',
  'macd_histogram',
  'adx_14',
  'stoch_k_14',
  'momentum_10d',
  'return_1d',
  'return_5d',
  'return_20d',
  'sma_20_distance',
  'sma_50_distance',
  'sma_200_distance',
  'bollinger_pct_b',
  'bollinger_bandwidth',
  // Volume and liquidity
  'volume_ratio_20d',
  'obv_slope_10d',
  'bid_ask_spread_pct',
  'option_liquidity_score',
  // Market breadth and macro
  'spy_correlation_60d',
  'beta_60d',
  'sector_relative_strength',
  'advance_decline_ratio',
  'treasury_10y_change',
  'credit_spread_change',
  'dollar_index_change',
  // Greeks of the at-the-money straddle
  'atm_theta_decay_pct',
  'atm_vega_per_point',
  'atm_gamma_per_point',
]);
