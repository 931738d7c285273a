import { buildSchema, isEnumType, isInputObjectType, isInterfaceType, isObjectType, isScalarType } from 'graphql';
import { describe, expect, it } from 'vitest';
import { loadTypeDefs } from '../../src/graphql/typeDefs';

describe('schema', () => {
  const schema = buildSchema(loadTypeDefs());
  const ours = Object.values(schema.getTypeMap()).filter(
    (t) => !t.name.startsWith('__') && !['String', 'Int', 'Float', 'Boolean', 'ID'].includes(t.name),
  );

  it('describes every type, field, argument and enum value (GraphiQL shows them)', () => {
    const missing: string[] = [];
    for (const type of ours) {
      if (!type.description?.trim()) missing.push(type.name);
      if (isObjectType(type) || isInterfaceType(type) || isInputObjectType(type)) {
        for (const field of Object.values(type.getFields())) {
          if (!field.description?.trim()) missing.push(`${type.name}.${field.name}`);
          for (const arg of 'args' in field ? field.args : []) {
            if (!arg.description?.trim()) missing.push(`${type.name}.${field.name}(${arg.name})`);
          }
        }
      }
      if (isEnumType(type))
        for (const v of type.getValues()) if (!v.description?.trim()) missing.push(`${type.name}.${v.name}`);
      if (isScalarType(type) && !type.description) missing.push(type.name);
    }
    expect(missing, missing.join(', ')).toEqual([]);
  });

  it('has the operations the issue asks for', () => {
    const query = schema.getQueryType()!.getFields();
    for (const name of ['asset', 'assets', 'model', 'models', 'predict', 'predictMany', 'deployments'])
      expect(query[name], name).toBeDefined();
    const mutation = schema.getMutationType()!.getFields();
    for (const name of ['promote', 'rollback']) expect(mutation[name], name).toBeDefined();
  });
});
