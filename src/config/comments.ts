// oslo.config keeps everything after "=" as the value: "x = 1   # note" is "1   # note". A value that fails
// because of such a comment gets this hint, since that is the likely cause.

/** True when the value holds what looks like an inline comment. */
export function hasInlineComment(value: string): boolean {
  return /\s#/.test(value);
}

export const INLINE_COMMENT_HINT = 'oslo.config does not strip inline comments: put the comment on its own line';

/** `message`, plus the hint when `value` carries an inline comment. */
export function withCommentHint(message: string, value: string | undefined): string {
  return value !== undefined && hasInlineComment(value) ? `${message} (${INLINE_COMMENT_HINT})` : message;
}
