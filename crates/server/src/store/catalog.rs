//! What the filter builder offers: the property names and tags in use.

use leadcard_core::PropertyType;
use leadcard_core::property::SYSTEM_PROPERTIES;
use leadcard_core::wire::{PropertyInfo, TagInfo};

use super::{Store, StoreError, StoreResult};

/// Most tags `tag_infos` returns.
pub const TAG_LIST_LIMIT: i64 = 1000;

impl Store {
    /// System properties in their fixed order, then the custom names in use, by name.
    pub async fn property_infos(&self) -> StoreResult<Vec<PropertyInfo>> {
        // Hops from one distinct name to the next through the (name, ...) index, so the cost
        // grows with the number of names, not with the number of stored values.
        let rows: Vec<(String, String)> = sqlx::query_as(
            "WITH RECURSIVE names (name) AS ( \
                 SELECT MIN(name) FROM lead_properties \
                 UNION ALL \
                 SELECT (SELECT MIN(p.name) FROM lead_properties p WHERE p.name > names.name) \
                 FROM names WHERE names.name IS NOT NULL) \
             SELECT n.name, \
                 (SELECT p.value_type FROM lead_properties p WHERE p.name = n.name LIMIT 1) \
             FROM names n WHERE n.name IS NOT NULL",
        )
        .fetch_all(&self.pool)
        .await?;

        let mut custom = rows
            .into_iter()
            .filter(|(name, _)| !name.starts_with('$'))
            .map(|(name, ty)| {
                let ty = PropertyType::parse(&ty)
                    .ok_or_else(|| StoreError::Corrupt(format!("unknown property type {ty:?}")))?;
                Ok(PropertyInfo { label: name.clone(), name, ty })
            })
            .collect::<StoreResult<Vec<_>>>()?;
        custom.sort_by(|a, b| a.name.cmp(&b.name));

        let system = SYSTEM_PROPERTIES.iter().map(|p| PropertyInfo {
            name: p.name.to_owned(),
            label: p.label.en.to_owned(),
            ty: p.ty,
        });
        Ok(system.chain(custom).collect())
    }

    /// Tags in use with how many leads carry each, most used first (at most [`TAG_LIST_LIMIT`]).
    pub async fn tag_infos(&self) -> StoreResult<Vec<TagInfo>> {
        let rows: Vec<(String, i64)> =
            sqlx::query_as("SELECT tag, COUNT(*) FROM lead_tags GROUP BY tag ORDER BY COUNT(*) DESC, tag LIMIT $1")
                .bind(TAG_LIST_LIMIT)
                .fetch_all(&self.pool)
                .await?;
        Ok(rows.into_iter().map(|(tag, leads)| TagInfo { tag, leads: leads.max(0) as u64 }).collect())
    }
}
