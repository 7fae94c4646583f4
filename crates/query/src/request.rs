//! A lookup, parsed once from the flags.

use trailscan_records::{AttributeKey, Category, EventTime, LookupAttribute, Record};

/// What `lookup-events` asks for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LookupRequest {
    /// AND-combined attributes (the service takes one; more are allowed here).
    pub attributes: Vec<LookupAttribute>,
    /// Earliest `eventTime`, inclusive.
    pub start: Option<EventTime>,
    /// Latest `eventTime`, inclusive.
    pub end: Option<EventTime>,
    /// `--event-category insight`: Insights events from `CloudTrail-Insight/` files only.
    pub insight: bool,
    /// Data and network-activity events too (the service returns management events only).
    pub include_data_events: bool,
    /// Every record, whatever its category and whichever kind of file holds it (a hunt's).
    pub every_category: bool,
}

/// A request the service would refuse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    /// `InvalidTimeRangeException`.
    #[error("InvalidTimeRange: --start-time ({start}) is after --end-time ({end})")]
    InvalidTimeRange {
        /// The start as given.
        start: EventTime,
        /// The end as given.
        end: EventTime,
    },
    /// `InvalidLookupAttributesException` for Insights.
    #[error("InvalidLookupAttributes: with --event-category insight only EventId, EventName and EventSource can be looked up, not {0}")]
    InsightAttribute(AttributeKey),
}

impl LookupRequest {
    /// Checks the request as the service would.
    pub fn validate(&self) -> Result<(), RequestError> {
        if let (Some(start), Some(end)) = (self.start, self.end) {
            if start > end {
                return Err(RequestError::InvalidTimeRange { start, end });
            }
        }
        if self.insight {
            let allowed = [
                AttributeKey::EventId,
                AttributeKey::EventName,
                AttributeKey::EventSource,
            ];
            if let Some(a) = self.attributes.iter().find(|a| !allowed.contains(&a.key)) {
                return Err(RequestError::InsightAttribute(a.key));
            }
        }
        Ok(())
    }

    /// Whether a record of category `category` is wanted at all.
    pub fn wants_category(&self, category: Category) -> bool {
        if self.every_category {
            return true;
        }
        match (self.insight, category) {
            (true, c) => c == Category::Insight,
            (false, Category::Management) => true,
            (false, Category::Insight) => false,
            (false, Category::Data | Category::Other) => self.include_data_events,
        }
    }

    /// Whether `time` is inside the window.
    pub fn wants_time(&self, time: EventTime) -> bool {
        self.start.is_none_or(|s| time >= s) && self.end.is_none_or(|e| time <= e)
    }

    /// Whether the record has every attribute.
    pub fn wants_attributes(&self, record: &Record<'_, '_>) -> bool {
        self.attributes.iter().all(|a| a.matches(record))
    }

    /// Whether the record, made at `time`, is selected: in the window, of a wanted category,
    /// with every attribute.
    pub fn wants(&self, record: &Record<'_, '_>, time: EventTime) -> bool {
        self.wants_time(time)
            && self.wants_category(record.category())
            && self.wants_attributes(record)
    }

    /// A stable description of what the request selects, for binding a page token to it.
    pub fn canonical(&self) -> String {
        let mut attrs: Vec<String> = self
            .attributes
            .iter()
            .map(|a| format!("{}={:?}", a.key, a.value))
            .collect();
        attrs.sort();
        format!(
            "attrs={};start={:?};end={:?};insight={};data={}{}",
            attrs.join("&"),
            self.start.map(|t| (t.secs, t.nanos)),
            self.end.map(|t| (t.secs, t.nanos)),
            self.insight,
            self.include_data_events,
            // Only when set, so that the tokens of lookups stay what they were.
            if self.every_category { ";every" } else { "" }
        )
    }
}
