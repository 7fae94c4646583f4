//! `--query`: JMESPath, with the `jmespath` crate, applied as the AWS CLI applies it.
//!
//! The crate keeps objects in sorted maps; Python keeps insertion order, which the JSON
//! output shows. So results are put back in Python's order: a multiselect hash's keys in the
//! expression's order, the answer's own objects (`Events`, `Resources`) in the service
//! model's order, anything else sorted (as the crate gives it).

use jmespath::ast::Ast;
use jmespath::{Expression, Variable};
use serde_json::{Map, Value};

use crate::lookup_json::EVENT_MEMBERS;

/// Whether `key` is a member of the answer's own objects, and where the model puts it:
/// `Events`, `NextToken`, then the members of `Event`, then those of `Resource`.
fn model_rank(key: &str) -> Option<usize> {
    ["Events", "NextToken"]
        .iter()
        .chain(&EVENT_MEMBERS)
        .chain(&["ResourceType", "ResourceName"])
        .position(|m| *m == key)
}

/// A compiled `--query`.
pub struct Query {
    expression: Expression<'static>,
    /// Key lists of every multiselect hash in the expression, in source order.
    hash_orders: Vec<Vec<String>>,
}

/// A `--query` that does not compile, or fails on the data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryError(pub String);

impl std::fmt::Display for QueryError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

fn collect_hashes(ast: &Ast, out: &mut Vec<Vec<String>>) {
    match ast {
        Ast::MultiHash { elements, .. } => {
            out.push(elements.iter().map(|kv| kv.key.clone()).collect());
            for kv in elements {
                collect_hashes(&kv.value, out);
            }
        }
        Ast::Comparison { lhs, rhs, .. }
        | Ast::Projection { lhs, rhs, .. }
        | Ast::And { lhs, rhs, .. }
        | Ast::Or { lhs, rhs, .. }
        | Ast::Subexpr { lhs, rhs, .. } => {
            collect_hashes(lhs, out);
            collect_hashes(rhs, out);
        }
        Ast::Condition {
            predicate, then, ..
        } => {
            collect_hashes(predicate, out);
            collect_hashes(then, out);
        }
        Ast::Expref { ast, .. } => collect_hashes(ast, out),
        Ast::Flatten { node, .. } | Ast::Not { node, .. } | Ast::ObjectValues { node, .. } => {
            collect_hashes(node, out)
        }
        Ast::Function { args, .. } => args.iter().for_each(|a| collect_hashes(a, out)),
        Ast::MultiList { elements, .. } => elements.iter().for_each(|a| collect_hashes(a, out)),
        Ast::Identity { .. }
        | Ast::Field { .. }
        | Ast::Index { .. }
        | Ast::Literal { .. }
        | Ast::Slice { .. } => {}
    }
}

impl Query {
    /// Compiles `text`; the error reads as the AWS CLI's (`Bad value for --query ...`).
    pub fn compile(text: &str) -> Result<Query, QueryError> {
        let expression = jmespath::compile(text).map_err(|e| {
            let detail = e.to_string();
            QueryError(format!(
                "Bad value for --query {text}: Invalid jmespath expression: {detail}"
            ))
        })?;
        let mut hash_orders = Vec::new();
        collect_hashes(expression.as_ast(), &mut hash_orders);
        Ok(Query {
            expression,
            hash_orders,
        })
    }

    /// The expression's multiselect-list element names, for CSV headers: a field's name, the
    /// last field of a sub-expression, or `None`.
    pub fn list_column_names(&self) -> Option<Vec<String>> {
        fn last_list(ast: &Ast) -> Option<&Vec<Ast>> {
            match ast {
                Ast::MultiList { elements, .. } => Some(elements),
                Ast::Projection { rhs, .. } | Ast::Subexpr { rhs, .. } => last_list(rhs),
                _ => None,
            }
        }
        fn name(ast: &Ast) -> Option<String> {
            match ast {
                Ast::Field { name, .. } => Some(name.clone()),
                Ast::Subexpr { rhs, .. } => name(rhs),
                _ => None,
            }
        }
        last_list(self.expression.as_ast()).map(|elements| {
            elements
                .iter()
                .enumerate()
                .map(|(i, e)| name(e).unwrap_or_else(|| format!("column{}", i + 1)))
                .collect()
        })
    }

    /// Applies the query to `data`.
    pub fn search(&self, data: &Value) -> Result<Value, QueryError> {
        let result = self
            .expression
            .search(data)
            .map_err(|e| QueryError(e.to_string()))?;
        Ok(self.ordered(&result))
    }

    fn ordered(&self, var: &Variable) -> Value {
        match var {
            Variable::Null => Value::Null,
            Variable::Bool(b) => Value::Bool(*b),
            Variable::Number(n) => Value::Number(n.clone()),
            Variable::String(s) => Value::String(s.clone()),
            Variable::Array(items) => Value::Array(items.iter().map(|v| self.ordered(v)).collect()),
            Variable::Object(map) => {
                let mut keys: Vec<&String> = map.keys().collect();
                let hash = self.hash_orders.iter().find(|order| {
                    order.len() == keys.len() && order.iter().all(|k| map.contains_key(k))
                });
                if let Some(order) = hash {
                    keys = order
                        .iter()
                        .filter_map(|k| map.get_key_value(k).map(|(k, _)| k))
                        .collect();
                } else if keys.iter().all(|k| model_rank(k).is_some()) {
                    keys.sort_by_key(|k| model_rank(k));
                }
                let mut out = Map::new();
                for k in keys {
                    out.insert(k.clone(), self.ordered(&map[k]));
                }
                Value::Object(out)
            }
            // Expression references only exist inside function calls.
            Variable::Expref(_) => Value::Null,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn doc() -> Value {
        json!({"Events": [
            {"EventId": "a", "EventName": "Run", "EventTime": "t1", "Resources": [{"ResourceType": "T", "ResourceName": "N"}], "CloudTrailEvent": "{}"},
            {"EventId": "b", "EventName": "Stop", "EventTime": "t0", "Resources": [], "CloudTrailEvent": "{}"}
        ]})
    }

    fn keys(v: &Value) -> Vec<&str> {
        v.as_object().unwrap().keys().map(String::as_str).collect()
    }

    #[test]
    fn python_key_order_is_restored() {
        let q = Query::compile("Events[0]").unwrap();
        assert_eq!(
            keys(&q.search(&doc()).unwrap()),
            [
                "EventId",
                "EventName",
                "EventTime",
                "Resources",
                "CloudTrailEvent"
            ]
        );
        let q = Query::compile("Events[*].{Time:EventTime,Name:EventName,Id:EventId}").unwrap();
        let r = q.search(&doc()).unwrap();
        assert_eq!(keys(&r[0]), ["Time", "Name", "Id"]);
        let q = Query::compile("Events[0].Resources[0]").unwrap();
        assert_eq!(
            keys(&q.search(&doc()).unwrap()),
            ["ResourceType", "ResourceName"]
        );
    }

    #[test]
    fn values_and_errors() {
        let q = Query::compile("length(Events)").unwrap();
        assert_eq!(q.search(&doc()).unwrap(), json!(2));
        let q = Query::compile("Events[*].[EventTime,EventName]").unwrap();
        assert_eq!(
            q.search(&doc()).unwrap(),
            json!([["t1", "Run"], ["t0", "Stop"]])
        );
        assert_eq!(
            q.list_column_names(),
            Some(vec!["EventTime".to_string(), "EventName".to_string()])
        );
        let e = Query::compile("Events[").err().unwrap();
        assert!(
            e.0.starts_with("Bad value for --query Events[: Invalid jmespath expression: "),
            "{}",
            e.0
        );
        let q = Query::compile("length(`1`)").unwrap();
        assert!(q.search(&doc()).is_err());
    }
}
