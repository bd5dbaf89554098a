// Module resolve hook: resolve the workspace packages to their TypeScript sources (their
// "development" export), as `node --conditions=development` would, for an unbuilt checkout.
export async function resolve(specifier, context, next) {
  const conditions = context.conditions.includes('development')
    ? context.conditions
    : [...context.conditions, 'development'];
  return next(specifier, { ...context, conditions });
}
