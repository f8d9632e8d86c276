/**
 * Every policy answer has this shape: whether it allows, the rule that decided (stable, quotable
 * in an error or an audit record) and a human reason. Policy functions fail closed: when no rule
 * matches, they return a denial whose rule says so.
 */
export interface Decision {
  allow: boolean;
  rule: string;
  reason: string;
}

export const allow = (rule: string, reason: string): Decision => ({ allow: true, rule, reason });
export const deny = (rule: string, reason: string): Decision => ({ allow: false, rule, reason });
